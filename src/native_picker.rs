//! The native file picker: the system's own dialog (rfd: the XDG desktop portal on Linux, with zenity as
//! fallback; the Windows and macOS dialogs), run on a background thread so the window keeps drawing.
//! The chosen file's bytes go to the photo inbox, exactly like a dropped file.

use std::path::Path;

use crate::assets::Inbox;

/// What the picker offers first; "All files" is the second filter.
const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp", "pth", "pt", "bin", "safetensors"];

/// Open the system's file dialog; a chosen file arrives in `inbox` and a repaint is requested.
pub fn pick_file(ctx: &egui::Context, inbox: &Inbox) {
    let (ctx, inbox) = (ctx.clone(), inbox.clone());
    let spawned = std::thread::Builder::new().name("file dialog".into()).spawn(move || {
        let Some(path) = rfd::FileDialog::new()
            .set_title("Open a photo or a checkpoint")
            .add_filter("Photos and checkpoints", EXTENSIONS)
            .add_filter("All files", &["*"])
            .pick_file()
        else {
            return; // cancelled
        };
        let arrived = read_bounded(&path, crate::assets::MAX_FILE_BYTES);
        if let Ok(mut queue) = inbox.lock() {
            queue.push(arrived);
        }
        ctx.request_repaint();
    });
    if let Err(e) = spawned {
        log::error!("cannot open the file dialog: {e}");
    }
}

/// `(file name, bytes)`, refusing a file larger than `limit` before reading it.
pub fn read_bounded(path: &Path, limit: u64) -> (String, Result<Vec<u8>, String>) {
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let bytes = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}")).and_then(|meta| {
        if let Some(refused) = crate::assets::too_large(meta.len(), limit) {
            Err(refused)
        } else {
            std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))
        }
    });
    (name, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_file_and_refuses_one_over_the_limit() {
        let dir = std::env::temp_dir().join(format!("convscope-picker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("photo.png");
        std::fs::write(&path, [1u8, 2, 3, 4]).expect("write");
        assert_eq!(read_bounded(&path, 4), ("photo.png".to_owned(), Ok(vec![1, 2, 3, 4])));
        let (name, refused) = read_bounded(&path, 3);
        assert_eq!(name, "photo.png");
        assert!(refused.is_err_and(|e| e.contains("more than")), "a file over the limit is refused");
        let (_, missing) = read_bounded(&dir.join("gone.png"), 4);
        assert!(missing.is_err_and(|e| e.starts_with("cannot read it")));
        std::fs::remove_dir_all(&dir).ok();
    }
}
