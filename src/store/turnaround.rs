//! Each request's timeline for the turnaround figures (`domain::turnaround`): its row's columns
//! and the times of its status changes, read in two passes over the file.

use std::collections::HashMap;

use super::rows::{self, EVENT_COLUMNS, RawEvent};
use super::{Store, StoreError};
use crate::domain::event::EventKind;
use crate::domain::status::Transition;
use crate::domain::turnaround::Timeline;

impl Store {
    /// Every request's timeline, optionally of one ward only. Receipt is the first receipt
    /// recorded; final, the first re-entry, cancellation or rejection.
    pub fn timelines(&self, ward: Option<&str>) -> Result<Vec<Timeline>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT uuid, priority, ward, status, collected_ms, created_ms FROM requests
             WHERE ?1 IS NULL OR ward = ?1",
        )?;
        let mut rows = st.query([ward])?;
        let mut by_uuid: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let priority: String = r.get(1)?;
            let status: String = r.get(3)?;
            let uuid: String = r.get(0)?;
            let corrupt = |what: &str, v: &str| {
                StoreError::Corrupt(format!("request {uuid}: stored {what} '{v}'"))
            };
            out.push(Timeline {
                priority: priority
                    .parse()
                    .map_err(|_| corrupt("priority", &priority))?,
                ward: r.get(2)?,
                status: status.parse().map_err(|_| corrupt("status", &status))?,
                collected_at: rows::ms_to_time(r.get(4)?)?,
                created_at: rows::ms_to_time(r.get(5)?)?,
                received_at: None,
                final_at: None,
            });
            by_uuid.insert(uuid, out.len() - 1);
        }
        drop(rows);
        drop(st);
        let mut st = self.conn.prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE kind = 'status_changed' ORDER BY at_ms"
        ))?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let e = RawEvent::read(r)?.decode()?;
            let Some(&i) = by_uuid.get(&e.request_uuid.to_string()) else {
                continue;
            };
            let EventKind::StatusChanged { transition } = &e.kind else {
                continue;
            };
            let t = &mut out[i];
            match transition {
                Transition::Received => {
                    t.received_at.get_or_insert(e.at);
                }
                Transition::Reentered { .. }
                | Transition::Cancelled { .. }
                | Transition::Rejected { .. } => {
                    t.final_at.get_or_insert(e.at);
                }
                Transition::Sent => {}
            }
        }
        Ok(out)
    }
}
