//! QR codes of key URIs for enrollment, as SVG and as terminal text.

use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};
use zeroize::Zeroizing;

use crate::error::OtpError;
use crate::uri::KeyUri;

impl KeyUri {
    fn qr_code(&self) -> Result<QrCode, OtpError> {
        // Medium error correction: survives a smudged screen, still small for a 160-bit secret.
        QrCode::with_error_correction_level(self.to_uri().as_bytes(), EcLevel::M)
            .map_err(|_| OtpError::QrCodeTooLarge)
    }

    /// The QR code of [`to_uri`](Self::to_uri) as an SVG document (at least 256 × 256 px).
    ///
    /// The image encodes the secret: send it only to the person enrolling, and wipe it after use
    /// (the returned string is wiped on drop; the `qrcode` crate's own buffers are not, so this is
    /// best effort).
    ///
    /// # Errors
    /// [`OtpError::QrCodeTooLarge`] if the URI does not fit in a QR code.
    pub fn qr_svg(&self) -> Result<Zeroizing<String>, OtpError> {
        let code = self.qr_code()?;
        Ok(Zeroizing::new(
            code.render::<svg::Color<'_>>()
                .min_dimensions(256, 256)
                .quiet_zone(true)
                .build(),
        ))
    }

    /// The QR code as text for a terminal, two modules per character cell.
    ///
    /// Drawn for a dark terminal background: light modules (and the quiet zone) are the block
    /// characters, so phone cameras see dark-on-light as usual.
    ///
    /// # Errors
    /// [`OtpError::QrCodeTooLarge`] if the URI does not fit in a QR code.
    pub fn qr_terminal(&self) -> Result<Zeroizing<String>, OtpError> {
        let code = self.qr_code()?;
        Ok(Zeroizing::new(
            code.render::<unicode::Dense1x2>()
                .dark_color(unicode::Dense1x2::Light)
                .light_color(unicode::Dense1x2::Dark)
                .quiet_zone(true)
                .build(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::{KeyUri, OtpSecret, TotpParams};

    #[test]
    fn renders_svg_and_terminal_text() {
        let secret = OtpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let uri = KeyUri::totp(
            Some("Example"),
            "alice@example.com",
            secret,
            &TotpParams::default(),
        )
        .unwrap();
        let svg = uri.qr_svg().unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("<path"));
        let text = uri.qr_terminal().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() > 10);
        // Square: about twice as many modules across as lines down.
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|line| line.chars().count() == width));
        assert!(width >= 2 * lines.len() - 2 && width <= 2 * lines.len() + 2);
        // Too long for any QR code: the longest names and image, each byte percent-encoded.
        let long = "!".repeat(crate::uri::MAX_NAME_LEN);
        let huge = KeyUri::totp(
            Some(&long),
            &long,
            OtpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap(),
            &TotpParams::default(),
        )
        .unwrap()
        .with_image(&"!".repeat(crate::uri::MAX_IMAGE_LEN))
        .unwrap();
        assert!(huge.to_uri().len() <= crate::MAX_URI_LEN);
        assert_eq!(huge.qr_svg().err(), Some(crate::OtpError::QrCodeTooLarge));
    }
}
