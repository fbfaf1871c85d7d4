//! Placeholder replaced by the platform module being written alongside.
use std::path::Path;
pub fn network_filesystem(_path: &Path) -> Option<String> {
    None
}
