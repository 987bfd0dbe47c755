//! Required-field check on encoded protobuf, like C++ `IsInitialized()`.
//!
//! prost fills unset `required` fields with defaults, while Mesos's
//! `ParseFromString` refuses a message that lacks one (a 400 on the HTTP
//! APIs). Walking the bytes with the schema gives the same verdict, with
//! the paths of the missing fields.

use super::encode::read_varint;
use super::schema::{Kind, Schema};

/// Nesting bound, as for encoding.
const DEPTH_MAX: usize = 100;

/// Full paths (`framework_info.user`, `offers[2].id`) of required fields
/// missing from message `index` encoded in `bytes`. `Err` if the bytes are
/// not valid protobuf.
pub(crate) fn missing_required(
    schema: &Schema,
    index: u32,
    bytes: &[u8],
) -> Result<Vec<String>, String> {
    let mut missing = Vec::new();
    walk(schema, index, bytes, "", &mut missing, 0)?;
    Ok(missing)
}

fn walk(
    schema: &Schema,
    index: u32,
    bytes: &[u8],
    prefix: &str,
    missing: &mut Vec<String>,
    depth: usize,
) -> Result<(), String> {
    if depth > DEPTH_MAX {
        return Err("message nesting too deep".into());
    }
    let msg = &schema.messages[index as usize];
    let mut seen = vec![false; msg.fields.len()];
    // Occurrence count per field, for `name[i]` paths of repeated messages.
    let mut count = vec![0usize; msg.fields.len()];
    let mut pos = 0usize;
    while pos < bytes.len() {
        let key = read_varint(bytes, &mut pos).ok_or("truncated tag")?;
        let wire = (key & 7) as u8;
        let number = key >> 3;
        let body = match wire {
            0 => {
                read_varint(bytes, &mut pos).ok_or("truncated varint")?;
                None
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                if pos + n > bytes.len() {
                    return Err("truncated fixed-width value".into());
                }
                pos += n;
                None
            }
            2 => {
                let len = usize::try_from(read_varint(bytes, &mut pos).ok_or("truncated length")?)
                    .map_err(|_| "length overflows")?;
                let end = pos
                    .checked_add(len)
                    .filter(|&e| e <= bytes.len())
                    .ok_or("truncated field")?;
                let body = &bytes[pos..end];
                pos = end;
                Some(body)
            }
            _ => return Err(format!("invalid wire type {wire}")),
        };
        let Some(decl) = u32::try_from(number)
            .ok()
            .and_then(|n| msg.field_by_number(n))
        else {
            continue;
        };
        let decl = decl as usize;
        seen[decl] = true;
        let field = &msg.fields[decl];
        if let (Kind::Message(sub), Some(body)) = (field.kind, body) {
            let name = if field.label == super::schema::Label::Repeated {
                format!("{prefix}{}[{}].", field.name, count[decl])
            } else {
                format!("{prefix}{}.", field.name)
            };
            count[decl] += 1;
            walk(schema, sub, body, &name, missing, depth + 1)?;
        }
    }
    for &r in &msg.required {
        if !seen[r as usize] {
            missing.push(format!("{prefix}{}", msg.fields[r as usize].name));
        }
    }
    Ok(())
}
