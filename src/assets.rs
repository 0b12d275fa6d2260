//! Bytes the app loads from its own `assets/` folder (the default weights, the sample photos), natively
//! from disk and on the web from the page's own origin, into a slot the frame loop polls.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A load in progress or done: `None` while pending.
pub type Slot = Arc<Mutex<Option<Result<Vec<u8>, String>>>>;

/// Largest file the app reads from the user (dropped, picked or pasted), refused before reading: what
/// the checkpoint reader accepts (1 GiB; the photo decoder's limit is smaller).
pub const MAX_FILE_BYTES: u64 = convscope_weights::MAX_CHECKPOINT_BYTES;

/// The message for a file of `size` bytes, if it is over `limit` ([`MAX_FILE_BYTES`] outside tests).
pub fn too_large(size: u64, limit: u64) -> Option<String> {
    (size > limit).then(|| format!("{} MB is more than the {} MB the app opens", size >> 20, limit >> 20))
}

/// Photos arriving from anywhere (drop, picker, paste, samples): `(name, bytes or error)`, oldest first.
pub type Inbox = Arc<Mutex<Vec<(String, Result<Vec<u8>, String>)>>>;
/// Photos decoded away from the page's thread (large photos on the web), by name.
pub type DecodedInbox = Arc<Mutex<Vec<(String, Result<convscope_input::Photo, String>)>>>;

/// Start loading `assets/<path>`; the slot fills when done and a repaint is requested.
pub fn load(ctx: &egui::Context, path: &str) -> Slot {
    let slot: Slot = Arc::new(Mutex::new(None));
    #[cfg(not(target_arch = "wasm32"))]
    {
        let result = match assets_dir() {
            Some(dir) => std::fs::read(dir.join(path)).map_err(|e| format!("{}: {e}", dir.join(path).display())),
            None => Err("no assets/ folder found next to the app (run `cargo xtask setup`)".to_owned()),
        };
        if let Ok(mut guard) = slot.lock() {
            *guard = Some(result);
        }
        ctx.request_repaint();
    }
    #[cfg(target_arch = "wasm32")]
    {
        let (slot2, ctx) = (Arc::clone(&slot), ctx.clone());
        let url = format!("assets/{path}");
        wasm_bindgen_futures::spawn_local(async move {
            let result = crate::web::fetch_bytes(&url).await;
            if let Ok(mut guard) = slot2.lock() {
                *guard = Some(result);
            }
            ctx.request_repaint();
        });
    }
    slot
}

/// Take the result out of a slot once it is there.
pub fn take(slot: &Slot) -> Option<Result<Vec<u8>, String>> {
    slot.lock().ok().and_then(|mut guard| guard.take())
}

/// `assets/`: `CONVSCOPE_ASSETS`, else the first `assets/` with weights or samples walking up from the
/// current directory or the executable.
#[cfg(not(target_arch = "wasm32"))]
pub fn assets_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CONVSCOPE_ASSETS") {
        return Some(PathBuf::from(dir));
    }
    let starts = [std::env::current_dir().ok(), std::env::current_exe().ok()];
    starts.into_iter().flatten().find_map(|start| {
        start.ancestors().map(|d| d.join("assets")).find(|a| a.join("weights").is_dir() || a.join("samples").is_dir())
    })
}

#[cfg(target_arch = "wasm32")]
#[allow(dead_code)]
pub fn assets_dir() -> Option<PathBuf> {
    None
}
