//! Resources in JSON: the v0 `Resource` object as Mesos's JSON dialect
//! writes it (proto field names, enums by name), read by hand from
//! `serde_json::Value` with errors that name the field path, and the
//! legacy flattened `/state` rendering (`{"cpus":1.0,"mem":128.0,
//! "ports":"[31000-32000]"}`).

use serde_json::{Map, Value as Json, json};

use super::error::ResourceError;
use super::resource::{
    AllocationInfo, DiskInfo, DiskSource, DiskSourceType, Label, Labels, Persistence, Resource,
    ResourceValue, SourceRoot, Volume, VolumeMode,
};
use super::spec::{ReservationKind, ReservationSpec, ResourceFormat, ResourceSpec};
use super::values::{Range, Ranges, RawValue, Scalar, Set, ValueType};

/// A JSON object being read, with its path for error messages.
struct Reader<'a> {
    map: &'a Map<String, Json>,
    path: String,
}

fn json_error(path: &str, reason: impl Into<String>) -> ResourceError {
    ResourceError::Json {
        path: path.into(),
        reason: reason.into(),
    }
}

impl<'a> Reader<'a> {
    fn new(value: &'a Json, path: &str) -> Result<Reader<'a>, ResourceError> {
        match value {
            Json::Object(map) => Ok(Reader {
                map,
                path: path.into(),
            }),
            other => Err(json_error(
                path,
                format!("expecting a JSON object, got {}", kind(other)),
            )),
        }
    }

    fn field_path(&self, field: &str) -> String {
        format!("{}.{field}", self.path)
    }

    /// A present, non-null field.
    fn get(&self, field: &str) -> Option<&'a Json> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    fn string(&self, field: &str) -> Result<Option<String>, ResourceError> {
        match self.get(field) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(json_error(
                &self.field_path(field),
                format!("expecting a string, got {}", kind(other)),
            )),
        }
    }

    fn required_string(&self, field: &str) -> Result<String, ResourceError> {
        self.string(field)?
            .ok_or_else(|| json_error(&self.field_path(field), "missing required field"))
    }

    fn object(&self, field: &str) -> Result<Option<Reader<'a>>, ResourceError> {
        self.get(field)
            .map(|v| Reader::new(v, &self.field_path(field)))
            .transpose()
    }

    fn array(&self, field: &str) -> Result<&'a [Json], ResourceError> {
        match self.get(field) {
            None => Ok(&[]),
            Some(Json::Array(items)) => Ok(items),
            Some(other) => Err(json_error(
                &self.field_path(field),
                format!("expecting an array, got {}", kind(other)),
            )),
        }
    }

    fn number(&self, field: &str) -> Result<Option<f64>, ResourceError> {
        match self.get(field) {
            None => Ok(None),
            Some(Json::Number(n)) => Ok(n.as_f64()),
            Some(Json::String(s)) => s
                .parse::<f64>()
                .map(Some)
                .map_err(|_| json_error(&self.field_path(field), format!("'{s}' is not a number"))),
            Some(other) => Err(json_error(
                &self.field_path(field),
                format!("expecting a number, got {}", kind(other)),
            )),
        }
    }

    fn unsigned(&self, field: &str) -> Result<u64, ResourceError> {
        let path = self.field_path(field);
        match self.get(field) {
            None => Err(json_error(&path, "missing required field")),
            Some(Json::Number(n)) => n
                .as_u64()
                .ok_or_else(|| json_error(&path, format!("{n} is not an unsigned 64-bit integer"))),
            Some(Json::String(s)) => s
                .parse::<u64>()
                .map_err(|_| json_error(&path, format!("'{s}' is not an unsigned 64-bit integer"))),
            Some(other) => Err(json_error(
                &path,
                format!("expecting an integer, got {}", kind(other)),
            )),
        }
    }
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn labels_from(reader: Option<Reader<'_>>) -> Result<Option<Labels>, ResourceError> {
    let Some(reader) = reader else {
        return Ok(None);
    };
    let mut labels = Vec::new();
    for (i, item) in reader.array("labels")?.iter().enumerate() {
        let label = Reader::new(item, &format!("{}.labels[{i}]", reader.path))?;
        labels.push(Label {
            key: label.required_string("key")?,
            value: label.string("value")?,
        });
    }
    Ok(Some(Labels(labels)))
}

fn reservation_from(reader: &Reader<'_>) -> Result<ReservationSpec, ResourceError> {
    let kind = match reader.string("type")? {
        None => None,
        Some(name) => Some(ReservationKind::from_name(&name).ok_or_else(|| {
            json_error(
                &reader.field_path("type"),
                format!("unknown enum value '{name}'"),
            )
        })?),
    };
    Ok(ReservationSpec {
        kind,
        role: reader.string("role")?,
        principal: reader.string("principal")?,
        labels: labels_from(reader.object("labels")?)?,
    })
}

fn root_from(reader: Option<Reader<'_>>) -> Result<Option<SourceRoot>, ResourceError> {
    reader
        .map(|r| {
            Ok(SourceRoot {
                root: r.string("root")?,
            })
        })
        .transpose()
}

fn disk_from(reader: &Reader<'_>) -> Result<DiskInfo, ResourceError> {
    let persistence = match reader.object("persistence")? {
        None => None,
        Some(p) => Some(Persistence {
            id: p.required_string("id")?,
            principal: p.string("principal")?,
        }),
    };
    let volume = match reader.object("volume")? {
        None => None,
        Some(v) => {
            let mode = match v.string("mode")?.as_deref() {
                None => None,
                Some("RW") => Some(VolumeMode::Rw),
                Some("RO") => Some(VolumeMode::Ro),
                Some(other) => {
                    return Err(json_error(
                        &v.field_path("mode"),
                        format!("unknown enum value '{other}'"),
                    ));
                }
            };
            Some(Volume {
                container_path: v.required_string("container_path")?,
                host_path: v.string("host_path")?,
                mode,
            })
        }
    };
    let source = match reader.object("source")? {
        None => None,
        Some(s) => {
            let type_name = s.required_string("type")?;
            let kind = match type_name.as_str() {
                "UNKNOWN" => DiskSourceType::Unknown,
                "PATH" => DiskSourceType::Path,
                "MOUNT" => DiskSourceType::Mount,
                "BLOCK" => DiskSourceType::Block,
                "RAW" => DiskSourceType::Raw,
                other => {
                    return Err(json_error(
                        &s.field_path("type"),
                        format!("unknown enum value '{other}'"),
                    ));
                }
            };
            Some(DiskSource {
                kind,
                path: root_from(s.object("path")?)?,
                mount: root_from(s.object("mount")?)?,
                vendor: s.string("vendor")?,
                id: s.string("id")?,
                metadata: labels_from(s.object("metadata")?)?,
                profile: s.string("profile")?,
            })
        }
    };
    Ok(DiskInfo {
        persistence,
        volume,
        source,
    })
}

impl ResourceSpec {
    /// Reads a v0 `Resource` JSON object (unknown fields ignored, `null`
    /// treated as absent, 64-bit integers as numbers or strings).
    pub fn from_json(value: &Json) -> Result<ResourceSpec, ResourceError> {
        Self::from_json_at(value, "resource")
    }

    pub(crate) fn from_json_at(value: &Json, path: &str) -> Result<ResourceSpec, ResourceError> {
        let r = Reader::new(value, path)?;
        let name = r.required_string("name")?;
        let type_name = r.required_string("type")?;
        let declared = ValueType::from_name(&type_name).ok_or_else(|| {
            json_error(
                &r.field_path("type"),
                format!("unknown enum value '{type_name}'"),
            )
        })?;
        let scalar = r.object("scalar")?;
        let ranges = r.object("ranges")?;
        let set = r.object("set")?;
        let mismatch = || ResourceError::TypeMismatch {
            name: name.clone(),
            declared,
        };
        let value = match declared {
            ValueType::Scalar => {
                let (Some(scalar), None, None) = (&scalar, &ranges, &set) else {
                    return Err(mismatch());
                };
                let number = scalar.number("value")?.ok_or_else(|| {
                    json_error(&scalar.field_path("value"), "missing required field")
                })?;
                RawValue::Scalar(number)
            }
            ValueType::Ranges => {
                let (None, Some(ranges), None) = (&scalar, &ranges, &set) else {
                    return Err(mismatch());
                };
                let mut result = Vec::new();
                for (i, item) in ranges.array("range")?.iter().enumerate() {
                    let range = Reader::new(item, &format!("{}.range[{i}]", ranges.path))?;
                    result.push(Range {
                        begin: range.unsigned("begin")?,
                        end: range.unsigned("end")?,
                    });
                }
                RawValue::Ranges(result)
            }
            ValueType::Set => {
                let (None, None, Some(set)) = (&scalar, &ranges, &set) else {
                    return Err(mismatch());
                };
                let mut items = Vec::new();
                for (i, item) in set.array("item")?.iter().enumerate() {
                    match item {
                        Json::String(s) => items.push(s.clone()),
                        other => {
                            return Err(json_error(
                                &format!("{}.item[{i}]", set.path),
                                format!("expecting a string, got {}", kind(other)),
                            ));
                        }
                    }
                }
                RawValue::Set(items)
            }
            ValueType::Text => RawValue::Text(String::new()),
        };
        let mut reservations = Vec::new();
        for (i, item) in r.array("reservations")?.iter().enumerate() {
            reservations.push(reservation_from(&Reader::new(
                item,
                &format!("{path}.reservations[{i}]"),
            )?)?);
        }
        let allocation_info = match r.object("allocation_info")? {
            None => None,
            Some(a) => Some(AllocationInfo {
                role: a.string("role")?.map(|s| s.into()),
            }),
        };
        let provider_id = match r.object("provider_id")? {
            None => None,
            Some(p) => Some(p.required_string("value")?),
        };
        Ok(ResourceSpec {
            name,
            value,
            role: r.string("role")?,
            reservation: r
                .object("reservation")?
                .map(|o| reservation_from(&o))
                .transpose()?,
            reservations,
            allocation_info,
            disk: r.object("disk")?.map(|o| disk_from(&o)).transpose()?,
            revocable: r.object("revocable")?.is_some(),
            shared: r.object("shared")?.is_some(),
            provider_id,
        })
    }

    /// Writes the v0 `Resource` JSON object (Mesos's dialect: enum names,
    /// only fields that are set, empty messages as `{}`).
    pub fn to_json(&self) -> Json {
        let mut object = Map::new();
        object.insert("name".into(), json!(self.name));
        object.insert("type".into(), json!(self.value.value_type().name()));
        match &self.value {
            RawValue::Scalar(v) => {
                object.insert("scalar".into(), json!({ "value": v }));
            }
            RawValue::Ranges(ranges) => {
                let items: Vec<Json> = ranges
                    .iter()
                    .map(|r| json!({ "begin": r.begin, "end": r.end }))
                    .collect();
                object.insert("ranges".into(), json!({ "range": items }));
            }
            RawValue::Set(items) => {
                object.insert("set".into(), json!({ "item": items }));
            }
            RawValue::Text(_) => {}
        }
        if let Some(role) = &self.role {
            object.insert("role".into(), json!(role));
        }
        if let Some(reservation) = &self.reservation {
            object.insert("reservation".into(), reservation_json(reservation));
        }
        if !self.reservations.is_empty() {
            object.insert(
                "reservations".into(),
                Json::Array(self.reservations.iter().map(reservation_json).collect()),
            );
        }
        if let Some(allocation) = &self.allocation_info {
            let mut a = Map::new();
            if let Some(role) = &allocation.role {
                a.insert("role".into(), json!(&**role));
            }
            object.insert("allocation_info".into(), Json::Object(a));
        }
        if let Some(disk) = &self.disk {
            object.insert("disk".into(), disk_json(disk));
        }
        if self.revocable {
            object.insert("revocable".into(), json!({}));
        }
        if self.shared {
            object.insert("shared".into(), json!({}));
        }
        if let Some(provider) = &self.provider_id {
            object.insert("provider_id".into(), json!({ "value": provider }));
        }
        Json::Object(object)
    }
}

fn labels_json(labels: &Labels) -> Json {
    let items: Vec<Json> = labels
        .0
        .iter()
        .map(|l| match &l.value {
            Some(v) => json!({ "key": l.key, "value": v }),
            None => json!({ "key": l.key }),
        })
        .collect();
    json!({ "labels": items })
}

fn reservation_json(r: &ReservationSpec) -> Json {
    let mut object = Map::new();
    if let Some(kind) = r.kind {
        object.insert("type".into(), json!(kind.name()));
    }
    if let Some(role) = &r.role {
        object.insert("role".into(), json!(role));
    }
    if let Some(principal) = &r.principal {
        object.insert("principal".into(), json!(principal));
    }
    if let Some(labels) = &r.labels {
        object.insert("labels".into(), labels_json(labels));
    }
    Json::Object(object)
}

fn disk_json(disk: &DiskInfo) -> Json {
    let mut object = Map::new();
    if let Some(p) = &disk.persistence {
        let mut po = Map::new();
        po.insert("id".into(), json!(p.id));
        if let Some(principal) = &p.principal {
            po.insert("principal".into(), json!(principal));
        }
        object.insert("persistence".into(), Json::Object(po));
    }
    if let Some(v) = &disk.volume {
        let mut vo = Map::new();
        vo.insert("container_path".into(), json!(v.container_path));
        if let Some(host) = &v.host_path {
            vo.insert("host_path".into(), json!(host));
        }
        if let Some(mode) = v.mode {
            vo.insert(
                "mode".into(),
                json!(if mode == VolumeMode::Rw { "RW" } else { "RO" }),
            );
        }
        object.insert("volume".into(), Json::Object(vo));
    }
    if let Some(s) = &disk.source {
        let mut so = Map::new();
        so.insert("type".into(), json!(s.kind.name()));
        let root = |r: &SourceRoot| match &r.root {
            Some(root) => json!({ "root": root }),
            None => json!({}),
        };
        if let Some(path) = &s.path {
            so.insert("path".into(), root(path));
        }
        if let Some(mount) = &s.mount {
            so.insert("mount".into(), root(mount));
        }
        for (field, value) in [
            ("vendor", &s.vendor),
            ("id", &s.id),
            ("profile", &s.profile),
        ] {
            if let Some(value) = value {
                so.insert(field.into(), json!(value));
            }
        }
        if let Some(metadata) = &s.metadata {
            so.insert("metadata".into(), labels_json(metadata));
        }
        object.insert("source".into(), Json::Object(so));
    }
    Json::Object(object)
}

impl Resource {
    /// The v0 `Resource` JSON object in `format` (the ENDPOINT format is
    /// what `/state` shows in its `*_full` arrays).
    pub fn to_json(&self, format: ResourceFormat) -> Result<Json, ResourceError> {
        Ok(self.to_spec(format)?.to_json())
    }
}

/// The legacy flattened rendering `/state`-style endpoints use for totals
/// (Mesos's `json(ObjectWriter*, resources)`): scalars summed per name with
/// `cpus`, `gpus`, `mem` and `disk` always present, ranges and sets merged
/// and written as their text form, revocable amounts under
/// `<name>_revocable`. Sums use the fixed-point scalar (Mesos adds doubles;
/// both print the same at 15 significant digits).
pub fn legacy_state_json<'a>(
    resources: impl IntoIterator<Item = &'a Resource>,
) -> Map<String, Json> {
    let mut scalars: Vec<(String, Scalar)> = ["cpus", "gpus", "mem", "disk"]
        .iter()
        .map(|n| (n.to_string(), Scalar::ZERO))
        .collect();
    let mut ranges: Vec<(String, Ranges)> = Vec::new();
    let mut sets: Vec<(String, Set)> = Vec::new();
    for resource in resources {
        let name = if resource.is_revocable() {
            format!("{}_revocable", resource.name())
        } else {
            resource.name().to_string()
        };
        match resource.value() {
            ResourceValue::Scalar(s) => match scalars.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => *total += *s,
                None => scalars.push((name, *s)),
            },
            ResourceValue::Ranges(r) => match ranges.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => total.add(r),
                None => ranges.push((name, r.clone())),
            },
            ResourceValue::Set(s) => match sets.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => total.add(s),
                None => sets.push((name, s.clone())),
            },
        }
    }
    let mut object = Map::new();
    for (name, total) in scalars {
        object.insert(name, json!(total.value()));
    }
    for (name, total) in ranges {
        object.insert(name, json!(total.to_string()));
    }
    for (name, total) in sets {
        object.insert(name, json!(total.to_string()));
    }
    object
}
