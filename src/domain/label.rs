//! Label templates and print jobs with governance: versioned templates that only a supervisor
//! may change once locked, required fields checked per unit before anything prints, and the
//! record of which serial was printed in which job, by whom, with which template version.

use super::Unit;
use super::issue::UnitFacts;

/// The fields a template can print. `sku` and `serial` are text, `qr` the QR code of the
/// item's payload, `code128` the serial as a Code 128 barcode; the rest are the unit's lot and
/// the facts it was issued or imported with.
pub const FIELDS: [&str; 11] = [
    "sku", "serial", "qr", "code128", "lot", "batch", "size", "colour", "po", "mfg_unit",
    "mfg_date",
];
/// The longest template name, in bytes.
pub const TEMPLATE_NAME_LEN_MAX: usize = 64;
/// Label sizes a template may have, in millimetres.
pub const LABEL_MM_MIN: u32 = 10;
pub const LABEL_MM_MAX: u32 = 200;
/// Printer resolutions, in dots per inch (what ZPL layouts are made for).
pub const DPIS: [u32; 2] = [203, 300];
/// The most serials one print job prints.
pub const PRINT_SERIALS_MAX: usize = 10_000;
/// The longest reprint reason, in bytes.
pub const PRINT_REASON_LEN_MAX: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    /// 1 for the first; each change makes the next.
    pub version: u32,
    /// Only a supervisor may change a locked template (or lock one).
    pub locked: bool,
    pub width_mm: u32,
    pub height_mm: u32,
    pub dpi: u32,
    /// What prints, in order.
    pub fields: Vec<String>,
    /// Fields every unit must have a value for, or the job is refused.
    pub required: Vec<String>,
    pub updated_by: String,
    pub updated_at_ms: i64,
}

/// One printed label of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintLine {
    pub serial: String,
    pub sku: String,
    /// Under the REPLACE policy: the voided serial this label replaces.
    pub replaced: Option<String>,
    /// Labels printed for this serial so far, this one included.
    pub prints: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintJob {
    pub id: String,
    pub template: String,
    pub template_version: u32,
    pub operator: String,
    pub created_at_ms: i64,
    pub reprint: bool,
    pub reason: Option<String>,
    pub lines: Vec<PrintLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("template name must be 1 to {TEMPLATE_NAME_LEN_MAX} characters of A-Z a-z 0-9 . _ -")]
    Name,
    #[error("label size {width}x{height} mm is outside {LABEL_MM_MIN} to {LABEL_MM_MAX} mm")]
    Size { width: u32, height: u32 },
    #[error("dpi {0} is not one of 203, 300")]
    Dpi(u32),
    #[error("field {0:?} is not a label field; use {fields}", fields = FIELDS.join(", "))]
    UnknownField(String),
    #[error("field {0} is listed twice")]
    FieldTwice(String),
    #[error("a template prints at least one field")]
    NoFields,
    #[error("required field {0} is not printed by the template")]
    RequiredNotPrinted(String),
    #[error("template {name} is LOCKED (version {version}): only a SUPERVISOR may change it")]
    Locked { name: String, version: u32 },
    #[error("only a SUPERVISOR may lock a template")]
    LockNeedsSupervisor,
    #[error("template {0} does not exist")]
    UnknownTemplate(String),
    #[error("a print job names 1 to {PRINT_SERIALS_MAX} serials (got {0})")]
    Serials(usize),
    #[error("serial {0} is listed twice in the job")]
    SerialTwice(String),
    #[error("serial {0} was never issued or received")]
    UnknownSerial(String),
    #[error("serial {serial} is VOIDED{}: print the serial that replaced it", replaced_by.as_ref().map(|s| format!(" (replaced by {s})")).unwrap_or_default())]
    Voided {
        serial: String,
        replaced_by: Option<String>,
    },
    #[error(
        "unit {serial} has no {field}, which template {template} requires: nothing was printed"
    )]
    MissingField {
        serial: String,
        field: String,
        template: String,
    },
    #[error(
        "serial {serial} was already printed (job {job}): a second label needs a reprint, with its reason"
    )]
    AlreadyPrinted { serial: String, job: String },
    #[error("serial {0} was never printed: print it first")]
    NeverPrinted(String),
    #[error("a reprint needs its reason (1 to {PRINT_REASON_LEN_MAX} bytes)")]
    Reason,
}

impl LabelError {
    /// True when the request is malformed in itself (INVALID_ARGUMENT); otherwise the store's
    /// state refuses it (FAILED_PRECONDITION; NOT_FOUND for a missing template, and
    /// PERMISSION_DENIED for a locked one).
    pub fn is_argument(&self) -> bool {
        matches!(
            self,
            LabelError::Name
                | LabelError::Size { .. }
                | LabelError::Dpi(_)
                | LabelError::UnknownField(_)
                | LabelError::FieldTwice(_)
                | LabelError::NoFields
                | LabelError::RequiredNotPrinted(_)
                | LabelError::Serials(_)
                | LabelError::SerialTwice(_)
                | LabelError::Reason
        )
    }
}

/// Checks a template name's shape.
pub fn check_name(name: &str) -> Result<(), LabelError> {
    let ok = (1..=TEMPLATE_NAME_LEN_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok { Ok(()) } else { Err(LabelError::Name) }
}

impl Template {
    /// Checks the template's own settings.
    pub fn validate(&self) -> Result<(), LabelError> {
        check_name(&self.name)?;
        let sizes = LABEL_MM_MIN..=LABEL_MM_MAX;
        if !sizes.contains(&self.width_mm) || !sizes.contains(&self.height_mm) {
            return Err(LabelError::Size {
                width: self.width_mm,
                height: self.height_mm,
            });
        }
        if !DPIS.contains(&self.dpi) {
            return Err(LabelError::Dpi(self.dpi));
        }
        if self.fields.is_empty() {
            return Err(LabelError::NoFields);
        }
        for (i, field) in self.fields.iter().enumerate() {
            if !FIELDS.contains(&field.as_str()) {
                return Err(LabelError::UnknownField(field.clone()));
            }
            if self.fields[..i].contains(field) {
                return Err(LabelError::FieldTwice(field.clone()));
            }
        }
        for field in &self.required {
            if !FIELDS.contains(&field.as_str()) {
                return Err(LabelError::UnknownField(field.clone()));
            }
            if !self.fields.contains(field) {
                return Err(LabelError::RequiredNotPrinted(field.clone()));
            }
        }
        Ok(())
    }

    /// The value `field` prints for `unit`, if it has one (`qr` and `code128` print what the
    /// serial makes, so a unit always has them).
    pub fn value(field: &str, unit: &Unit, facts: &UnitFacts) -> Option<String> {
        match field {
            "sku" => Some(unit.sku.clone()),
            "serial" | "qr" | "code128" => Some(unit.serial.clone()),
            "lot" => unit.lot.clone(),
            other => facts.field(other),
        }
    }

    /// The first required field `unit` has no value for.
    pub fn missing(&self, unit: &Unit, facts: &UnitFacts) -> Option<String> {
        self.required
            .iter()
            .find(|f| Template::value(f, unit, facts).is_none_or(|v| v.is_empty()))
            .cloned()
    }

    /// True when `other` prints the same label (name, size, fields and lock alike).
    fn same_as(&self, other: &Template) -> bool {
        (
            &self.name,
            self.locked,
            self.width_mm,
            self.height_mm,
            self.dpi,
            &self.fields,
            &self.required,
        ) == (
            &other.name,
            other.locked,
            other.width_mm,
            other.height_mm,
            other.dpi,
            &other.fields,
            &other.required,
        )
    }
}

/// Decides a template change: the next version of `current`, or the first. A locked
/// template, and locking one, need a supervisor. Sending the current content again changes
/// nothing (`None`).
pub fn decide_put(
    mut new: Template,
    current: Option<&Template>,
    supervisor: bool,
    by: &str,
    now_ms: i64,
) -> Result<Option<Template>, LabelError> {
    new.validate()?;
    if let Some(current) = current {
        if current.same_as(&new) {
            return Ok(None);
        }
        if current.locked && !supervisor {
            return Err(LabelError::Locked {
                name: current.name.clone(),
                version: current.version,
            });
        }
    }
    if new.locked && !supervisor && current.is_none_or(|c| !c.locked) {
        return Err(LabelError::LockNeedsSupervisor);
    }
    new.version = current.map_or(1, |c| c.version + 1);
    new.updated_by = by.to_owned();
    new.updated_at_ms = now_ms;
    Ok(Some(new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(fields: &[&str], required: &[&str]) -> Template {
        Template {
            name: "UNIT-50x30".into(),
            version: 0,
            locked: false,
            width_mm: 50,
            height_mm: 30,
            dpi: 203,
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            required: required.iter().map(|f| (*f).to_owned()).collect(),
            updated_by: String::new(),
            updated_at_ms: 0,
        }
    }

    #[test]
    fn templates_are_checked_and_versioned() {
        let t = template(&["qr", "sku", "serial", "batch"], &["batch"]);
        let v1 = decide_put(t.clone(), None, false, "ana", 5)
            .unwrap()
            .unwrap();
        assert_eq!((v1.version, v1.updated_by.as_str()), (1, "ana"));
        assert_eq!(decide_put(t.clone(), Some(&v1), false, "ana", 6), Ok(None));
        let wider = Template {
            width_mm: 60,
            ..t.clone()
        };
        let v2 = decide_put(wider.clone(), Some(&v1), false, "bo", 7)
            .unwrap()
            .unwrap();
        assert_eq!(v2.version, 2);
        let locking = Template {
            locked: true,
            ..wider.clone()
        };
        assert_eq!(
            decide_put(locking.clone(), Some(&v2), false, "bo", 8),
            Err(LabelError::LockNeedsSupervisor)
        );
        let v3 = decide_put(locking, Some(&v2), true, "sue", 8)
            .unwrap()
            .unwrap();
        let change = Template {
            locked: true,
            height_mm: 40,
            ..wider
        };
        assert_eq!(
            decide_put(change.clone(), Some(&v3), false, "bo", 9),
            Err(LabelError::Locked {
                name: "UNIT-50x30".into(),
                version: 3
            })
        );
        assert_eq!(
            decide_put(change, Some(&v3), true, "sue", 9)
                .unwrap()
                .unwrap()
                .version,
            4
        );
        for (bad, error) in [
            (
                template(&["qr", "price"], &[]),
                LabelError::UnknownField("price".into()),
            ),
            (
                template(&["qr", "qr"], &[]),
                LabelError::FieldTwice("qr".into()),
            ),
            (template(&[], &[]), LabelError::NoFields),
            (
                template(&["qr"], &["po"]),
                LabelError::RequiredNotPrinted("po".into()),
            ),
            (
                Template {
                    dpi: 250,
                    ..template(&["qr"], &[])
                },
                LabelError::Dpi(250),
            ),
            (
                Template {
                    name: "a b".into(),
                    ..template(&["qr"], &[])
                },
                LabelError::Name,
            ),
        ] {
            assert_eq!(decide_put(bad, None, true, "x", 0), Err(error));
        }
    }
}
