//! The egui app: a thin layer that turns clicks and keys into [`Action`]s run against the store in
//! one place. The shell is [`app`] (state, frame, dispatcher, lab orchestration, chrome); each
//! screen is its own module owning its view state; shared widgets are in [`widgets`], fonts and
//! right-to-left display in [`fonts`].

pub mod action;
pub mod app;
pub mod conflicts;
pub mod damaged;
pub mod dashboard;
pub mod detail;
pub mod export;
pub mod first_run;
pub mod fonts;
pub mod form;
pub mod gate;
pub mod handover;
pub mod phoned;
pub mod queue;
pub mod reception;
pub mod reconcile;
pub mod settings;
pub mod sign_in;
pub mod wards;
pub mod widgets;

use std::path::PathBuf;

pub use action::{Action, LabView, Tab};
pub use app::StopgapApp;

/// The window title.
pub const TITLE: &str = "Stopgap — LIMS downtime requests";

/// Opens the store at `db_path` and runs the desktop app until the window is closed.
pub fn run(db_path: PathBuf) -> anyhow::Result<()> {
    let icon = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png"))
        .map_err(|e| anyhow::anyhow!("the window icon could not be read: {e}"))?;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(TITLE)
            .with_icon(icon)
            // A ward PC's screen is often 1366×768: open maximised, and never taller than it.
            .with_inner_size([1280.0, 720.0])
            .with_maximized(true)
            .with_min_inner_size([960.0, 600.0]),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        TITLE,
        options,
        Box::new(move |cc| {
            widgets::apply_theme(&cc.egui_ctx);
            fonts::install(&cc.egui_ctx);
            Ok(Box::new(StopgapApp::from_path(&db_path)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))
}
