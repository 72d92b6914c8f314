//! The zip archive `torch.save` writes (PyTorch >= 1.6): `<name>/data.pkl` (the pickle),
//! `<name>/data/<key>` (one uncompressed entry per storage), `<name>/byteorder`, … Entries
//! are read only up to their size, and the sizes of all entries read add up to at most the
//! file's length (entries of a real archive do not overlap), so the bytes held never exceed
//! the file's size, whatever its zip directory claims.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

/// An open `torch.save` archive, read from a file or from bytes in memory.
pub(crate) struct Archive<R> {
    zip: ZipArchive<R>,
    prefix: String,
    /// Bytes that may still be read: the file's length minus what was read.
    budget: u64,
}

impl Archive<BufReader<File>> {
    /// Opens the file at `path` (see [`Archive::new`]).
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        Archive::new(BufReader::new(file), len)
    }
}

impl<R: Read + Seek> Archive<R> {
    /// Reads an archive of `file_len` bytes, telling apart the formats torch can write: a zip
    /// archive with a `data.pkl` (what is read), the legacy pickle format and TorchScript
    /// archives (errors saying so).
    pub(crate) fn new(mut file: R, file_len: u64) -> Result<Self, String> {
        let mut magic = [0u8; 4];
        let got = read_up_to(&mut file, &mut magic).map_err(|e| e.to_string())?;
        if got >= 2 && magic[0] == 0x80 && magic[1] <= 5 {
            return Err("the legacy (non-zip) torch.save format (PyTorch < 1.6, or \
                        _use_new_zipfile_serialization=False) is not supported: load it in \
                        PyTorch and save it again with torch.save"
                .into());
        }
        if got < 4 || &magic != b"PK\x03\x04" {
            return Err("not a torch.save file (no zip signature)".into());
        }
        file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        let zip = ZipArchive::new(file).map_err(zip_message)?;
        let prefix = {
            let pkl = zip
                .file_names()
                .filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
                .min()
                .map(str::to_string);
            match pkl {
                Some(n) => n.trim_end_matches("data.pkl").to_string(),
                None if zip.file_names().any(|n| n.ends_with("/constants.pkl")) => {
                    return Err(
                        "a TorchScript archive (torch.jit.save), not a torch.save file".into(),
                    )
                }
                None => {
                    return Err("a zip file without <name>/data.pkl: not a torch.save file".into())
                }
            }
        };
        let mut archive = Archive {
            zip,
            prefix,
            budget: file_len,
        };
        if let Some(order) = archive.read_optional("byteorder", 16)? {
            if order != b"little" {
                return Err(format!(
                    "byte order {:?} is not supported (only little-endian files)",
                    String::from_utf8_lossy(&order)
                ));
            }
        }
        Ok(archive)
    }

    /// The pickle.
    pub(crate) fn data_pkl(&mut self) -> Result<Vec<u8>, String> {
        self.read("data.pkl", None)
    }

    /// The bytes of storage `key`, which must hold at least `nbytes`.
    pub(crate) fn storage(&mut self, key: &str, nbytes: usize) -> Result<Vec<u8>, String> {
        self.read(&format!("data/{key}"), Some(nbytes))
    }

    fn read_optional(&mut self, name: &str, max: u64) -> Result<Option<Vec<u8>>, String> {
        let full = format!("{}{name}", self.prefix);
        if self.zip.index_for_name(&full).is_none() {
            return Ok(None);
        }
        let mut entry = self.zip.by_name(&full).map_err(zip_message)?;
        let mut out = Vec::new();
        (&mut entry)
            .take(max)
            .read_to_end(&mut out)
            .map_err(|e| format!("{full}: {e}"))?;
        Ok(Some(out))
    }

    fn read(&mut self, name: &str, min: Option<usize>) -> Result<Vec<u8>, String> {
        let full = format!("{}{name}", self.prefix);
        let budget = self.budget;
        let mut entry = self.zip.by_name(&full).map_err(|e| match e {
            ZipError::FileNotFound => format!("entry {full} is missing"),
            e => format!("{full}: {}", zip_message(e)),
        })?;
        if entry.compression() != CompressionMethod::Stored {
            return Err(format!(
                "entry {full} is compressed ({:?}); torch.save stores entries uncompressed",
                entry.compression()
            ));
        }
        let size = entry.size();
        if size > budget {
            return Err(format!(
                "entry {full} claims {size} bytes, more than the file has left unread ({budget})"
            ));
        }
        let size = usize::try_from(size).map_err(|_| format!("entry {full} is too large"))?;
        if let Some(min) = min {
            if size < min {
                return Err(format!(
                    "storage entry {full} holds {size} bytes, but the pickle needs {min}"
                ));
            }
        }
        let mut out = Vec::new();
        out.try_reserve_exact(size)
            .map_err(|_| format!("out of memory reading {size} bytes of {full}"))?;
        (&mut entry)
            .take(size as u64)
            .read_to_end(&mut out)
            .map_err(|e| format!("{full}: {e}"))?;
        if out.len() != size {
            return Err(format!(
                "entry {full} is truncated: {} of {size} bytes",
                out.len()
            ));
        }
        drop(entry);
        self.budget -= size as u64;
        Ok(out)
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

fn zip_message(e: ZipError) -> String {
    format!("not a valid zip archive: {e}")
}
