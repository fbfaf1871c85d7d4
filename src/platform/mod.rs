//! What differs by operating system, each behind one function: where the database lives by
//! default ([`default_db_path`]), whether a path is on a network filesystem, where SQLite cannot
//! promise that a save survives a crash ([`network_filesystem`]), opening a folder in the file
//! manager ([`open_in_file_manager`]), and reaching the console a Windows GUI program was started
//! from ([`use_parent_console`], [`report_app_error`]), and keeping patient-data files private
//! to their owner ([`create_private_dir`], [`restrict_to_owner`]).
//!
//! Rules that hold on every platform live next to the code that needs them: the file-name rules
//! for exports (Windows' rules, applied everywhere) are in [`crate::files`]. The only `unsafe`
//! code in Stopgap is the four Windows API calls in the private `win` module.

mod console;
mod data_dir;
mod file_manager;
mod network_fs;
mod private;
mod time_zone;
#[cfg(windows)]
mod win;

pub use console::{report_app_error, use_parent_console};
pub use data_dir::{DB_FILE_NAME, PlatformError, default_db_path};
pub use file_manager::open_in_file_manager;
pub use network_fs::{is_network_fstype, network_filesystem};
pub use private::{create_private_dir, create_private_file, private_options, restrict_to_owner};
pub use time_zone::time_zone_warning;
