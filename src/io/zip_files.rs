//! Named files (`cycles/cell.npy`, …) as one .zip archive, stored without compression and with
//! the format's earliest timestamp, so the same files give the same bytes every time.

use std::io::Write;

/// A .zip of `files` (path inside the archive, contents), in the given order.
pub fn zip_files(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(files.iter().any(|(_, bytes)| bytes.len() >= u32::MAX as usize));
    for (path, bytes) in files {
        writer.start_file(path.as_str(), options)?;
        writer.write_all(bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_reads_back_and_is_the_same_every_time() {
        let files =
            vec![("findings.json".to_string(), b"{}".to_vec()), ("cycles/cell.npy".to_string(), vec![7u8; 1000])];
        let bytes = zip_files(&files).unwrap();
        assert_eq!(bytes, zip_files(&files).unwrap());
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(archive.len(), 2);
        for (path, contents) in &files {
            let mut file = archive.by_name(path).unwrap();
            let mut back = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut back).unwrap();
            assert_eq!(&back, contents, "{path}");
        }
    }
}
