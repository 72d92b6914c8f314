//! `save_safetensors` writes atomically: the file gets the permissions `File::create` gives
//! (the umask respected), a file it replaces keeps its permissions, and a write that fails
//! leaves what was at the path and no temporary file.

use std::path::{Path, PathBuf};

use antorcha_nn::{load_safetensors, save_safetensors, Linear};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("antorcha-st-atomic-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
#[test]
fn saved_files_get_the_permissions_file_create_gives() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("mode");
    // What `File::create` gives a new file under this process's umask (0o644 under 022).
    let reference = dir.join("reference");
    std::fs::File::create(&reference).unwrap();
    let expected = mode(&reference);
    assert_eq!(expected & 0o111, 0, "File::create makes no executable file");
    let model: Linear = Linear::new(3, 2);
    let path = dir.join("w.safetensors");
    save_safetensors(&model, &path).unwrap();
    assert_eq!(mode(&path), expected);
    // Saving again replaces the file and keeps the mode.
    save_safetensors(&model, &path).unwrap();
    assert_eq!(mode(&path), expected);
    // A file the user made private stays private when it is overwritten.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    save_safetensors(&model, &path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let back: Linear = Linear::new(3, 2);
    load_safetensors(&back, &path).unwrap();
    assert_eq!(back.weight().to_vec(), model.weight().to_vec());
    assert_eq!(names(&dir), vec!["reference", "w.safetensors"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The rename fails (the path is a folder that is not empty): an error naming the path, the
/// folder and its content untouched, no temporary file. A duplicate key fails before any
/// file is touched.
#[test]
fn a_failed_save_leaves_what_was_there_and_no_temporary() {
    let dir = scratch("fail");
    let target = dir.join("w.safetensors");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("inside"), b"keep me").unwrap();
    let model: Linear = Linear::new(3, 2);
    let e = save_safetensors(&model, &target).unwrap_err();
    assert!(e.to_string().contains("w.safetensors"), "{e}");
    assert_eq!(std::fs::read(target.join("inside")).unwrap(), b"keep me");
    assert_eq!(names(&dir), vec!["w.safetensors"]);

    let file = dir.join("v.safetensors");
    save_safetensors(&model, &file).unwrap();
    let before = std::fs::read(&file).unwrap();
    let w = model.weight().data();
    let dup = vec![("a".to_string(), w.clone()), ("a".to_string(), w)];
    assert!(antorcha_nn::write_safetensors(&dup, &file).is_err());
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(names(&dir), vec!["v.safetensors", "w.safetensors"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
