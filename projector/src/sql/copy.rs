//! One row in the text format of Postgres `COPY … FROM STDIN`.

use event_store::db::Value;

/// One row in `COPY`'s text format: tab-separated, `\N` for NULL, backslash escapes.
pub(super) fn row(buf: &mut Vec<u8>, row: Vec<Value>) -> Result<(), sqlx::Error> {
    use std::io::Write as _;
    for (i, value) in row.into_iter().enumerate() {
        if i > 0 {
            buf.push(b'\t');
        }
        match value {
            Value::Int(Some(x)) => {
                buf.extend_from_slice(itoa::Buffer::new().format(x).as_bytes());
            }
            // Writing into a Vec cannot fail.
            Value::Date(Some(d)) => {
                let _ = write!(buf, "{}", d.format("%Y-%m-%d"));
            }
            Value::Text(Some(t)) => text(buf, &t),
            Value::Int(None) | Value::Date(None) | Value::Text(None) => {
                buf.extend_from_slice(b"\\N");
            }
            other => {
                return Err(sqlx::Error::Protocol(format!(
                    "a read table column holds {other:?}, which COPY here does not write"
                )));
            }
        }
    }
    buf.push(b'\n');
    Ok(())
}

fn text(buf: &mut Vec<u8>, text: &str) {
    let mut rest = text.as_bytes();
    while let Some(at) = rest
        .iter()
        .position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        buf.extend_from_slice(&rest[..at]);
        buf.extend_from_slice(match rest[at] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            _ => b"\\r",
        });
        rest = &rest[at + 1..];
    }
    buf.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn copy_rows_escape_what_copy_text_format_reads_specially() {
        let mut buf = Vec::new();
        row(
            &mut buf,
            vec![
                Value::from("web:a"),
                Value::from(-42_i64),
                Value::from("tab\there\nnew\\line\rend"),
                Value::Text(None),
                Value::Int(None),
                Value::from(NaiveDate::from_ymd_opt(2026, 3, 7).expect("a date")),
            ],
        )
        .expect("writable");
        assert_eq!(
            String::from_utf8(buf).expect("UTF-8"),
            "web:a\t-42\ttab\\there\\nnew\\\\line\\rend\t\\N\t\\N\t2026-03-07\n"
        );
    }
}
