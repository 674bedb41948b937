//! The printable sheet a user keeps: issuer, account, date and the codes.

use mfa_core::UnixTime;
use zeroize::Zeroizing;

use crate::format::BackupCode;

/// Renders a plain-text sheet of backup codes that prints well: ASCII only, at most 64 columns,
/// two columns of numbered codes with a box to tick off each one used.
///
/// The result holds the codes in the clear, so it is [`Zeroizing`]: write it out (print, file
/// the user downloads) and drop it.
///
/// ```
/// use mfa_backup::{IssuePolicy, render_sheet};
/// use mfa_core::UnixTime;
///
/// let mut rng = rand::rng();
/// # let policy = IssuePolicy { hasher: mfa_backup::HashParams::Argon2id(
/// #     mfa_backup::Argon2idParams::new(64, 1, 1)?), ..IssuePolicy::default() };
/// let issued = policy.issue("alice@example.com", UnixTime::from_secs(1_795_000_000), &mut rng)?;
/// let sheet = render_sheet("Example Corp", "alice@example.com", issued.set.issued_at(), &issued.codes);
/// assert!(sheet.contains("Example Corp"));
/// assert!(sheet.contains("2026-11-18"));
/// assert!(sheet.contains(issued.codes[9].expose_secret()));
/// # Ok::<(), mfa_backup::BackupCodeError>(())
/// ```
#[must_use]
pub fn render_sheet(
    issuer: &str,
    account: &str,
    issued_at: UnixTime,
    codes: &[BackupCode],
) -> Zeroizing<String> {
    const WIDTH: usize = 64;
    let rule = "=".repeat(WIDTH);
    let mut out = Zeroizing::new(String::with_capacity(1024));
    out.push_str(&rule);
    out.push('\n');
    push_line(&mut out, &format!("BACKUP CODES - {}", printable(issuer)));
    push_line(&mut out, &format!("Account: {}", printable(account)));
    push_line(
        &mut out,
        &format!("Issued:  {} (UTC)", issued_at.utc_date()),
    );
    out.push_str(&rule);
    out.push('\n');
    out.push('\n');

    let rows = codes.len().div_ceil(2);
    for row in 0..rows {
        let mut line = Zeroizing::new(String::with_capacity(WIDTH));
        for column in 0..2 {
            let index = column * rows + row;
            if let Some(code) = codes.get(index) {
                let cell = format!("[ ] {:>2}. {}", index + 1, code.expose_secret());
                line.push_str(&format!("  {cell:<28}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
    for note in [
        "Each code works once. Tick it off when you use it.",
        "Keep this sheet somewhere safe, like a locked drawer or a safe;",
        "anyone holding it can sign in as you.",
        "Getting low? Generate a new set: the old codes stop working.",
    ] {
        push_line(&mut out, note);
    }
    out
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

/// Issuer and account as printable ASCII (other characters become `?`), at most 48 characters.
fn printable(text: &str) -> String {
    text.chars()
        .take(48)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(UnixTime::EPOCH.utc_date(), "1970-01-01");
        assert_eq!(UnixTime::from_secs(951_782_400).utc_date(), "2000-02-29");
        assert_eq!(UnixTime::from_secs(951_868_800).utc_date(), "2000-03-01");
        assert_eq!(UnixTime::from_secs(1_795_046_399).utc_date(), "2026-11-18");
        assert_eq!(UnixTime::from_secs(4_102_444_800).utc_date(), "2100-01-01");
        // Far future: no overflow, no panic.
        let _far = UnixTime::from_secs(u64::MAX).utc_date();
    }

    #[test]
    fn odd_issuer_text_is_sanitised() {
        assert_eq!(printable("Ex\u{1b}[31mample\n"), "Ex?[31mample?");
    }
}
