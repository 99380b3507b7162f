//! Previews of one label: SVG (QR modules and bars as rectangles, text as `<text>`) and PNG
//! (8-bit grayscale, text in the 5x7 bitmap font of `font`). Both draw the [`Layout`] that
//! `zpl` prints, at one pixel per printer dot, so a preview shows what the printer will print.
//! Pure: bytes out, nothing written anywhere.

use std::fmt::Write as _;

use super::code128;
use super::font::{self, GLYPH_GAP, GLYPH_HEIGHT, GLYPH_WIDTH};
use super::zpl::{LabelData, LabelError, LabelSpec, Layout, layout, qr_code};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Label(#[from] LabelError),
    #[error("cannot encode the PNG: {0}")]
    Png(#[from] png::EncodingError),
}

/// The dark modules of the label's QR code as (column, row), and its side in modules.
fn qr_dark(data: &LabelData) -> Result<(Vec<(u32, u32)>, u32), LabelError> {
    let code = qr_code(&data.payload)?;
    let width = code.width();
    let dark = code
        .to_colors()
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == qrcode::Color::Dark)
        .filter_map(|(i, _)| {
            Some((
                u32::try_from(i % width).ok()?,
                u32::try_from(i / width).ok()?,
            ))
        })
        .collect();
    Ok((dark, u32::try_from(width).unwrap_or(u32::MAX)))
}

/// Runs of bars of the serial's Code 128 as (start module, length).
fn bar_runs(serial: &str) -> Result<Vec<(u32, u32)>, LabelError> {
    let modules = code128::modules(serial)?;
    let mut runs = Vec::new();
    let mut start = None;
    for (i, bar) in modules.iter().chain(std::iter::once(&false)).enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        match (bar, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i - s));
                start = None;
            }
            _ => {}
        }
    }
    Ok(runs)
}

fn xml_escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// The label as an SVG document, sized in mm, drawn in printer dots.
pub fn svg(spec: &LabelSpec, data: &LabelData) -> Result<String, LabelError> {
    let layout = layout(spec, data)?;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}mm\" height=\"{}mm\" viewBox=\"0 0 {} {}\" shape-rendering=\"crispEdges\">\n<rect width=\"{}\" height=\"{}\" fill=\"#fff\"/>\n",
        spec.width_mm, spec.height_mm, layout.width, layout.height, layout.width, layout.height
    );
    if let Some(qr) = &layout.qr {
        let (dark, _) = qr_dark(data)?;
        out.push_str("<g class=\"qr\" fill=\"#000\">\n");
        for (col, row) in dark {
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{m}\" height=\"{m}\"/>",
                qr.x + col * qr.magnification,
                qr.y + row * qr.magnification,
                m = qr.magnification
            );
        }
        out.push_str("</g>\n");
    }
    for line in &layout.lines {
        // The baseline sits a fifth of the height above the line's bottom.
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-family=\"monospace\" font-size=\"{}\" textLength=\"{}\" lengthAdjust=\"spacingAndGlyphs\">",
            line.x,
            line.y + line.height * 4 / 5,
            line.height,
            text_width_dots(&line.text, line.height).min(line.width)
        );
        xml_escape(&line.text, &mut out);
        out.push_str("</text>\n");
    }
    if let Some(bar) = &layout.code128 {
        out.push_str("<g class=\"code128\" fill=\"#000\">\n");
        for (start, len) in bar_runs(&data.serial)? {
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
                bar.x + start * bar.module_dots,
                bar.y,
                len * bar.module_dots,
                bar.height
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    Ok(out)
}

/// The bitmap font's scale for a line `height` dots high (7 rows and a gap row).
fn font_scale(height: u32) -> u32 {
    (height / (u32::try_from(GLYPH_HEIGHT).unwrap_or(7) + 1)).max(1)
}

fn text_width_dots(text: &str, height: u32) -> u32 {
    u32::try_from(font::text_width(text)).unwrap_or(u32::MAX) * font_scale(height)
}

/// An 8-bit grayscale canvas, 255 white.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Canvas {
        let len = usize::try_from(u64::from(width) * u64::from(height)).unwrap_or(0);
        Canvas {
            width,
            height,
            pixels: vec![255; len],
        }
    }

    /// Blackens the rectangle, clipped to the canvas and to `x_end`.
    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, x_end: u32) {
        let x1 = (x + w).min(self.width).min(x_end);
        let y1 = (y + h).min(self.height);
        for row in y..y1 {
            for col in x..x1 {
                let i = usize::try_from(u64::from(row) * u64::from(self.width) + u64::from(col));
                if let Some(p) = i.ok().and_then(|i| self.pixels.get_mut(i)) {
                    *p = 0;
                }
            }
        }
    }
}

/// The label as a PNG image, one pixel per printer dot.
pub fn png(spec: &LabelSpec, data: &LabelData) -> Result<Vec<u8>, RenderError> {
    let layout: Layout = layout(spec, data)?;
    let mut canvas = Canvas::new(layout.width, layout.height);
    let full = layout.width;
    if let Some(qr) = &layout.qr {
        let (dark, _) = qr_dark(data)?;
        let m = qr.magnification;
        for (col, row) in dark {
            canvas.fill(qr.x + col * m, qr.y + row * m, m, m, full);
        }
    }
    let glyph_width = u32::try_from(GLYPH_WIDTH).unwrap_or(5);
    let advance = glyph_width + u32::try_from(GLYPH_GAP).unwrap_or(1);
    for line in &layout.lines {
        let scale = font_scale(line.height);
        let x_end = line.x + line.width;
        for (i, c) in line.text.chars().enumerate() {
            let left = line.x
                + u32::try_from(i)
                    .unwrap_or(u32::MAX)
                    .saturating_mul(advance * scale);
            if left >= x_end {
                break;
            }
            for (row, bits) in font::glyph(c).iter().enumerate() {
                let row = u32::try_from(row).unwrap_or(0);
                for col in 0..glyph_width {
                    if bits & (1 << (glyph_width - 1 - col)) != 0 {
                        canvas.fill(
                            left + col * scale,
                            line.y + row * scale,
                            scale,
                            scale,
                            x_end,
                        );
                    }
                }
            }
        }
    }
    if let Some(bar) = &layout.code128 {
        for (start, len) in bar_runs(&data.serial)? {
            canvas.fill(
                bar.x + start * bar.module_dots,
                bar.y,
                len * bar.module_dots,
                bar.height,
                full,
            );
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, canvas.width, canvas.height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&canvas.pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::label::payload::{Payload, QrStrategy, QrSymbol, UnitIds};
    use crate::label::zpl::Dpi;

    fn spec() -> LabelSpec {
        LabelSpec {
            extra_fields: vec![],
            ..crate::label::zpl::tests::spec()
        }
    }

    fn data(serial: &str, payload: Payload) -> LabelData {
        LabelData {
            sku: "SHIRT-M".into(),
            serial: serial.into(),
            payload,
            fields: BTreeMap::new(),
        }
    }

    fn dl_payload(serial: &str) -> Payload {
        QrStrategy::DigitalLink {
            domain: "id.example.com".into(),
        }
        .payload(&UnitIds {
            serial,
            gtin: Some("09506000134352"),
            lot: Some("L/7"),
        })
        .unwrap()
    }

    /// Decodes a PNG and reads every QR code in it.
    fn read_qr(png_bytes: &[u8]) -> (u32, u32, Vec<u8>, Vec<String>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let (w, h) = (info.width, info.height);
        let width = usize::try_from(w).unwrap();
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(
            width,
            usize::try_from(h).unwrap(),
            |x, y| buf[y * width + x],
        );
        let texts = image
            .detect_grids()
            .into_iter()
            .map(|g| g.decode().unwrap().1)
            .collect();
        (w, h, buf, texts)
    }

    #[test]
    fn png_qr_reads_back_as_the_payload() {
        for serial in ["ABC123", "x/y%z+1", "12345678901234567890"] {
            let payload = dl_payload(serial);
            let bytes = png(&spec(), &data(serial, payload.clone())).unwrap();
            let (w, h, pixels, texts) = read_qr(&bytes);
            assert_eq!((w, h), (480, 240));
            assert_eq!(texts, vec![payload.text.clone()], "{serial}");
            // The SKU and serial are drawn: dark pixels to the right of the QR code.
            let qr_right = 200;
            let dark_right = pixels
                .chunks(480)
                .take(60)
                .flat_map(|row| &row[qr_right..])
                .filter(|p| **p == 0)
                .count();
            assert!(dark_right > 100, "{dark_right}");
        }
    }

    #[test]
    fn png_of_a_verify_url_at_300_dpi() {
        let payload = QrStrategy::VerifyUrl {
            base: "https://brand.example/q".into(),
        }
        .payload(&UnitIds {
            serial: "k7QxM2pL9vR4tW8z",
            gtin: None,
            lot: None,
        })
        .unwrap();
        let s = LabelSpec {
            dpi: Dpi::Dpi300,
            code128: false,
            ..spec()
        };
        let bytes = png(&s, &data("k7QxM2pL9vR4tW8z", payload.clone())).unwrap();
        let (w, h, _, texts) = read_qr(&bytes);
        assert_eq!((w, h), (720, 360));
        assert_eq!(texts, vec![payload.text]);
    }

    #[test]
    fn svg_has_the_qr_the_text_and_the_bars() {
        let payload = dl_payload("A&B<1>");
        let out = svg(&spec(), &data("A&B<1>", payload.clone())).unwrap();
        assert!(out.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"60mm\" height=\"30mm\" viewBox=\"0 0 480 240\""));
        assert!(out.ends_with("</svg>\n"));
        assert!(out.contains(">SHIRT-M</text>"));
        assert!(out.contains(">A&amp;B&lt;1&gt;</text>"));
        let (dark, _) = qr_dark(&data("A&B<1>", payload)).unwrap();
        let qr_group = out.split("<g class=\"qr\"").nth(1).unwrap();
        let qr_group = qr_group.split("</g>").next().unwrap();
        assert_eq!(qr_group.matches("<rect ").count(), dark.len());
        let bars = out.split("<g class=\"code128\"").nth(1).unwrap();
        let bars = bars.split("</g>").next().unwrap();
        // Every Code 128 symbol has three bars; the stop has four.
        let symbols = "A&B<1>".len() + 2;
        assert_eq!(bars.matches("<rect ").count(), symbols * 3 + 4);
        // Balanced elements: every opened tag is closed.
        assert_eq!(
            out.matches("<text ").count(),
            out.matches("</text>").count()
        );
        assert_eq!(out.matches("<g ").count(), out.matches("</g>").count());
    }

    #[test]
    fn svg_of_a_long_digital_link_fits_a_larger_label() {
        let serial = "ABCDEFGHIJ/%&+,:;=?!";
        let payload = dl_payload(serial);
        assert!(payload.text.len() > 80, "{}", payload.text);
        let s = LabelSpec {
            width_mm: 100,
            height_mm: 50,
            ..spec()
        };
        let out = svg(&s, &data(serial, payload.clone())).unwrap();
        let (dark, modules) = qr_dark(&data(serial, payload)).unwrap();
        assert!(modules >= 37, "{modules}");
        assert_eq!(
            out.split("<g class=\"qr\"")
                .nth(1)
                .unwrap()
                .split("</g>")
                .next()
                .unwrap()
                .matches("<rect ")
                .count(),
            dark.len()
        );
        assert!(out.contains("&amp;"));
        assert!(!out.contains("/%&+"), "raw '&' must be escaped");
    }

    #[test]
    fn gs1_payload_gets_fnc1_and_a_png() {
        let payload = QrStrategy::Structured
            .payload(&UnitIds {
                serial: "S1",
                gtin: Some("09506000134352"),
                lot: Some("L7"),
            })
            .unwrap();
        assert_eq!(payload.symbol, QrSymbol::Gs1);
        let code = qr_code(&payload).unwrap();
        let plain = qr_code(&Payload {
            symbol: QrSymbol::Plain,
            ..payload.clone()
        })
        .unwrap();
        // Same size here, different symbol: the FNC1 mode indicator changes the data.
        assert_ne!(code.to_colors(), plain.to_colors());
        // rqrr has no FNC1 mode: it finds the symbol and stops at the FNC1 mode indicator,
        // where a plain QR Code would have its data mode.
        let bytes = png(&spec(), &data("S1", payload)).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes[..]));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let width = usize::try_from(info.width).unwrap();
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(
            width,
            usize::try_from(info.height).unwrap(),
            |x, y| buf[y * width + x],
        );
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (meta, _) = grids[0].get_raw_data().unwrap();
        // The format information's level indicator: 0b11 is Q.
        assert_eq!(meta.ecc_level, 0b11);
        assert!(matches!(
            grids[0].decode(),
            Err(rqrr::DeQRError::UnknownDataType)
        ));
    }
}
