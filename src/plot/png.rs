//! PNG encoding of rendered figures (RGBA8, sRGB), for "save figure" buttons and the CLI.

/// Why a figure could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    #[error("pixel buffer has {got} bytes, expected {expected} for {width}×{height} RGBA")]
    Size { got: usize, expected: usize, width: u32, height: u32 },
    #[error("PNG encoding failed: {0}")]
    Encode(String),
}

/// Encodes tightly packed RGBA8 rows as a PNG file.
pub fn encode_rgba(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, PngError> {
    let expected = width as usize * height as usize * 4;
    if rgba.len() != expected {
        return Err(PngError::Size { got: rgba.len(), expected, width, height });
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_source_srgb(png::SrgbRenderingIntent::Perceptual);
    let mut writer = encoder.write_header().map_err(|e| PngError::Encode(e.to_string()))?;
    writer.write_image_data(rgba).map_err(|e| PngError::Encode(e.to_string()))?;
    writer.finish().map_err(|e| PngError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_decoder_and_rejects_wrong_sizes() {
        let rgba: Vec<u8> = (0..3 * 2 * 4).map(|i| (i * 10) as u8).collect();
        let bytes = encode_rgba(3, 2, &rgba).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut decoded = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut decoded).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&decoded[..info.buffer_size()], &rgba[..]);
        assert!(matches!(encode_rgba(3, 3, &rgba), Err(PngError::Size { .. })));
    }
}
