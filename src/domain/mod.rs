//! The clinical domain: identifiers, the request model, its lifecycle and history. No I/O, no
//! clock (time is a parameter), no egui.

pub mod access;
pub mod audit;
pub mod catalogue;
pub mod dates;
pub mod downtime_id;
pub mod draft;
pub mod early;
pub mod event;
pub mod identity;
pub mod merge;
pub mod nhs_number;
pub mod overdue;
pub mod patient;
pub mod phoned;
pub mod request;
pub mod settle;
pub mod status;
pub mod text;
pub mod turnaround;
pub mod ward;
pub mod warnings;
