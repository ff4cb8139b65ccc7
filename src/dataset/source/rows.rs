//! The column rules: a [`RawTable`] into [`Rows`] of text, messages and images.

use std::path::{Path, PathBuf};

use base64::Engine;
use bytes::Bytes;

use super::{Cell, Columns, ImageRef, Message, RawRow, RawTable, Row, MAX_TEXT_BYTES};
use crate::dataset::DatasetError;

/// Decodes the images of one cell (see the module docs).
fn image_refs(cell: &Cell, base_dir: Option<&Path>, out: &mut Vec<ImageRef>) -> Result<(), String> {
    match cell {
        Cell::Null => Ok(()),
        Cell::Bytes(b) => {
            out.push(ImageRef::Bytes(b.clone()));
            Ok(())
        }
        Cell::Str(s) => {
            if s.starts_with("data:") {
                out.push(ImageRef::DataUri(s.clone()));
                return Ok(());
            }
            if s.len() > 64 {
                if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(s.trim()) {
                    out.push(ImageRef::Bytes(Bytes::from(bytes)));
                    return Ok(());
                }
            }
            let p = PathBuf::from(s);
            let p = match base_dir {
                Some(d) if p.is_relative() => d.join(p),
                _ => p,
            };
            out.push(ImageRef::Path(p));
            Ok(())
        }
        Cell::Map(_) => {
            match cell.get("bytes") {
                Some(Cell::Bytes(b)) => {
                    out.push(ImageRef::Bytes(b.clone()));
                    return Ok(());
                }
                Some(Cell::Str(s)) => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(s.trim())
                        .map_err(|e| format!("`bytes` is text but not base64: {e}"))?;
                    out.push(ImageRef::Bytes(Bytes::from(bytes)));
                    return Ok(());
                }
                _ => {}
            }
            match cell.get("path") {
                Some(c @ Cell::Str(_)) => image_refs(c, base_dir, out),
                _ => Err("an image map needs `bytes` or `path`".to_string()),
            }
        }
        Cell::List(items) => {
            for it in items {
                image_refs(it, base_dir, out)?;
            }
            Ok(())
        }
        Cell::Bool(_) | Cell::Int(_) | Cell::Float(_) => {
            Err("a number is not an image (expected bytes, base64, a data URI or a path)".into())
        }
    }
}

fn messages_of(cell: &Cell) -> Option<Vec<Message>> {
    let Cell::List(items) = cell else {
        return None;
    };
    let mut out = Vec::new();
    for it in items {
        let role = it
            .get("role")
            .or_else(|| it.get("from"))
            .and_then(Cell::text)?;
        let role = match role.as_str() {
            "human" => "user".to_string(),
            "gpt" | "bot" | "model" => "assistant".to_string(),
            _ => role,
        };
        let content = ["content", "value", "text"]
            .iter()
            .find_map(|k| it.get(k))
            .and_then(Cell::text)
            .unwrap_or_default();
        out.push(Message { role, content });
    }
    Some(out)
}

/// Result of applying the column rules.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub rows: Vec<Row>,
    /// Rows skipped for exceeding [`MAX_TEXT_BYTES`] (or, while reading, [`MAX_LINE_BYTES`]).
    pub oversize: usize,
}

/// Applies the column rules to a table read from `origin`.
pub(crate) fn rows_from_table(
    table: RawTable,
    cols: &Columns,
    origin: &str,
    base_dir: Option<&Path>,
) -> Result<Rows, DatasetError> {
    let has_fields = table.rows.iter().any(|r| matches!(r, RawRow::Fields(_)))
        || (table.rows.is_empty() && !table.available.is_empty());
    if has_fields {
        for (i, name) in cols.requested().iter().enumerate() {
            if !table.present.get(i).copied().unwrap_or(false) {
                let role = if i == 0 {
                    if cols.messages {
                        "messages_column"
                    } else {
                        "prompt_column"
                    }
                } else {
                    "image_column"
                };
                return Err(DatasetError::MissingColumn {
                    origin: origin.to_string(),
                    field: role.to_string(),
                    column: (*name).to_string(),
                    available: table.available.clone(),
                });
            }
        }
    }
    let mut out = Rows {
        rows: Vec::new(),
        oversize: table.oversize,
    };
    for (n, raw) in table.rows.into_iter().enumerate() {
        let row = match raw {
            RawRow::Bare(text) => Row {
                text,
                messages: None,
                images: Vec::new(),
            },
            RawRow::Fields(mut fields) => {
                let first = fields.first_mut().and_then(Option::take);
                let (text, messages) = if cols.messages {
                    let msgs = first.as_ref().and_then(messages_of);
                    let text = msgs
                        .as_ref()
                        .and_then(|m| m.iter().find(|m| m.role == "user"))
                        .map(|m| m.content.clone())
                        .unwrap_or_default();
                    (text, msgs)
                } else {
                    (
                        first.as_ref().and_then(Cell::text).unwrap_or_default(),
                        None,
                    )
                };
                let mut images = Vec::new();
                if let Some(Some(cell)) = fields.get(1) {
                    image_refs(cell, base_dir, &mut images).map_err(|e| DatasetError::Image {
                        origin: origin.to_string(),
                        message: format!(
                            "row {n}, column `{}`: {e}",
                            cols.image.as_deref().unwrap_or("")
                        ),
                    })?;
                }
                if cols.messages && messages.is_none() {
                    continue;
                }
                Row {
                    text,
                    messages,
                    images,
                }
            }
        };
        let size = row.messages.as_ref().map_or(row.text.len(), |m| {
            m.iter()
                .map(|m| m.content.len())
                .sum::<usize>()
                .max(row.text.len())
        });
        if size > MAX_TEXT_BYTES {
            out.oversize += 1;
            continue;
        }
        if row.text.trim().is_empty() && row.images.is_empty() && cols.image.is_none() {
            continue;
        }
        out.rows.push(row);
    }
    Ok(out)
}
