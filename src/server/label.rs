//! The LabelService: versioned templates (a LOCKED one changed only by a SUPERVISOR), print
//! jobs checked unit by unit and recorded, and label rendering (ZPL, SVG, PNG).

use std::collections::HashMap;

use tonic::{Request, Response, Status};

use super::issue::issue_status;
use super::{auth, store_status};
use crate::auth::Role;
use crate::domain::issue::{IssueAnswer, IssueOp};
use crate::domain::label::{
    LabelError, PRINT_REASON_LEN_MAX, PRINT_SERIALS_MAX, PrintJob, Template,
};
use crate::label::zpl::{LabelData, LabelSpec};
use crate::label::{render, unit, zpl};
use crate::proto::v1 as pb;
use crate::store::Store;

/// The most fields (printed or required) a template lists.
const TEMPLATE_FIELDS_MAX: usize = 32;

pub fn template_to_pb(t: Template) -> pb::LabelTemplate {
    pb::LabelTemplate {
        name: t.name,
        version: t.version,
        locked: t.locked,
        width_mm: t.width_mm,
        height_mm: t.height_mm,
        dpi: t.dpi,
        fields: t.fields,
        required: t.required,
        updated_by: t.updated_by,
        updated_at_ms: t.updated_at_ms,
    }
}

fn template_from_pb(t: pb::LabelTemplate) -> Result<Template, Status> {
    if t.fields.len() > TEMPLATE_FIELDS_MAX || t.required.len() > TEMPLATE_FIELDS_MAX {
        return Err(Status::invalid_argument(format!(
            "a template lists at most {TEMPLATE_FIELDS_MAX} fields"
        )));
    }
    Ok(Template {
        name: t.name,
        version: 0,
        locked: t.locked,
        width_mm: t.width_mm,
        height_mm: t.height_mm,
        dpi: t.dpi,
        fields: t.fields,
        required: t.required,
        updated_by: String::new(),
        updated_at_ms: 0,
    })
}

pub fn job_to_pb(job: PrintJob) -> pb::PrintJob {
    pb::PrintJob {
        id: job.id,
        template: job.template,
        template_version: job.template_version,
        operator: job.operator,
        created_at_ms: job.created_at_ms,
        reprint: job.reprint,
        reason: job.reason.unwrap_or_default(),
        lines: job
            .lines
            .into_iter()
            .map(|l| pb::PrintLine {
                serial: l.serial,
                sku: l.sku,
                replaced: l.replaced.unwrap_or_default(),
                prints: l.prints,
            })
            .collect(),
    }
}

/// A template's refusal as a status: a locked template is the caller's role's fault.
fn label_status(error: crate::domain::issue::IssueError) -> Status {
    match &error {
        crate::domain::issue::IssueError::Label(
            LabelError::Locked { .. } | LabelError::LockNeedsSupervisor,
        ) => Status::permission_denied(error.to_string()),
        crate::domain::issue::IssueError::Label(LabelError::UnknownTemplate(_)) => {
            Status::not_found(error.to_string())
        }
        _ => issue_status(error),
    }
}

fn checked_name(name: &str) -> Result<(), Status> {
    crate::domain::label::check_name(name).map_err(|e| Status::invalid_argument(e.to_string()))
}

fn checked_serial(serial: &str) -> Result<(), Status> {
    if serial.is_empty() || serial.len() > crate::barcode::SERIAL_LEN_MAX {
        return Err(Status::invalid_argument(format!(
            "serial {serial:?} must be 1 to {} bytes",
            crate::barcode::SERIAL_LEN_MAX
        )));
    }
    Ok(())
}

pub struct Labels<S> {
    pub store: S,
}

impl<S: Store> Labels<S> {
    async fn op(&self, op: IssueOp) -> Result<IssueAnswer, Status> {
        self.store
            .issue(op)
            .await
            .map_err(store_status)?
            .map_err(label_status)
    }
}

#[tonic::async_trait]
impl<S: Store> pb::label_service_server::LabelService for Labels<S> {
    async fn put_template(
        &self,
        request: Request<pb::PutTemplateRequest>,
    ) -> Result<Response<pb::TemplateResponse>, Status> {
        let caller = auth::caller(&request);
        // Without access control every caller may do everything.
        let supervisor = caller.as_ref().is_none_or(|c| c.role >= Role::Supervisor);
        let by = caller.map(|c| c.name).unwrap_or_default();
        let template = request
            .into_inner()
            .template
            .ok_or_else(|| Status::invalid_argument("template is required"))?;
        let answer = self
            .op(IssueOp::PutTemplate {
                template: template_from_pb(template)?,
                supervisor,
                by,
            })
            .await?;
        let IssueAnswer::Template(t) = answer else {
            return Err(Status::internal("the writer answered another op"));
        };
        Ok(Response::new(pb::TemplateResponse {
            template: Some(template_to_pb(t)),
        }))
    }

    async fn get_template(
        &self,
        request: Request<pb::GetTemplateRequest>,
    ) -> Result<Response<pb::TemplateResponse>, Status> {
        let request = request.into_inner();
        checked_name(&request.name)?;
        let version = (request.version != 0).then_some(request.version);
        let template = self
            .store
            .template(&request.name, version)
            .await
            .map_err(store_status)?
            .ok_or_else(|| {
                Status::not_found(match version {
                    Some(v) => format!("template {} has no version {v}", request.name),
                    None => format!("template {} does not exist", request.name),
                })
            })?;
        Ok(Response::new(pb::TemplateResponse {
            template: Some(template_to_pb(template)),
        }))
    }

    async fn list_templates(
        &self,
        _request: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        let templates = self.store.templates().await.map_err(store_status)?;
        Ok(Response::new(pb::ListTemplatesResponse {
            templates: templates.into_iter().map(template_to_pb).collect(),
        }))
    }

    async fn print(
        &self,
        request: Request<pb::PrintRequest>,
    ) -> Result<Response<pb::PrintResponse>, Status> {
        let operator = auth::caller(&request).map(|c| c.name).unwrap_or_default();
        let request = request.into_inner();
        checked_name(&request.template)?;
        if request.serials.is_empty() || request.serials.len() > PRINT_SERIALS_MAX {
            return Err(Status::invalid_argument(
                LabelError::Serials(request.serials.len()).to_string(),
            ));
        }
        for serial in &request.serials {
            checked_serial(serial)?;
        }
        if request.reason.len() > PRINT_REASON_LEN_MAX {
            return Err(Status::invalid_argument(LabelError::Reason.to_string()));
        }
        // What the printer will get is made once before anything is recorded, so that a
        // label that cannot be laid out refuses the job, not a recorded job without ZPL.
        let spec = self.spec(&request.template).await?;
        let labels = self.labels_of(&spec, &request.serials).await?;
        if !labels.is_empty() {
            zpl::zpl_job(&spec, &labels).map_err(|e| Status::failed_precondition(e.to_string()))?;
        }
        let answer = self
            .op(IssueOp::Print {
                template: request.template,
                serials: request.serials,
                reprint: request.reprint,
                reason: (!request.reason.is_empty()).then_some(request.reason),
                operator,
            })
            .await?;
        let IssueAnswer::Printed(job) = answer else {
            return Err(Status::internal("the writer answered another op"));
        };
        // The job's units were read before it was recorded: only REPLACE's new serials are read
        // now (a reused unit's label does not change by being printed).
        let mut before: HashMap<String, LabelData> =
            labels.into_iter().map(|l| (l.serial.clone(), l)).collect();
        let new: Vec<String> = job
            .lines
            .iter()
            .filter(|l| !before.contains_key(&l.serial))
            .map(|l| l.serial.clone())
            .collect();
        for label in self.labels_of(&spec, &new).await? {
            before.insert(label.serial.clone(), label);
        }
        let labels: Vec<LabelData> = job
            .lines
            .iter()
            .filter_map(|l| before.remove(&l.serial))
            .collect();
        let zpl = zpl::zpl_job(&spec, &labels).map_err(|e| {
            Status::internal(format!(
                "job {} was recorded but its ZPL failed: {e}",
                job.id
            ))
        })?;
        Ok(Response::new(pb::PrintResponse {
            job: Some(job_to_pb(job)),
            zpl,
        }))
    }

    async fn get_print_job(
        &self,
        request: Request<pb::GetPrintJobRequest>,
    ) -> Result<Response<pb::PrintJobResponse>, Status> {
        let id = request.into_inner().id;
        if id.is_empty() || id.len() > 32 {
            return Err(Status::invalid_argument("id must be 1 to 32 bytes"));
        }
        let job = self
            .store
            .print_job(&id)
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::not_found(format!("print job {id} does not exist")))?;
        Ok(Response::new(pb::PrintJobResponse {
            job: Some(job_to_pb(job)),
        }))
    }

    async fn render_label(
        &self,
        request: Request<pb::RenderLabelRequest>,
    ) -> Result<Response<pb::RenderLabelResponse>, Status> {
        let request = request.into_inner();
        checked_name(&request.template)?;
        checked_serial(&request.serial)?;
        let format = match pb::LabelFormat::try_from(request.format) {
            Ok(pb::LabelFormat::Unspecified | pb::LabelFormat::Png) => pb::LabelFormat::Png,
            Ok(f) => f,
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "format {} is not a known label format",
                    request.format
                )));
            }
        };
        let spec = self.spec(&request.template).await?;
        let data = self
            .labels_of(&spec, std::slice::from_ref(&request.serial))
            .await?
            .pop()
            .ok_or_else(|| {
                Status::not_found(format!(
                    "serial {} was never issued or received",
                    request.serial
                ))
            })?;
        let failed = |e: String| Status::failed_precondition(e);
        let (data, content_type) = match format {
            pb::LabelFormat::Zpl => (
                zpl::zpl(&spec, &data)
                    .map_err(|e| failed(e.to_string()))?
                    .into_bytes(),
                "text/plain",
            ),
            pb::LabelFormat::Svg => (
                render::svg(&spec, &data)
                    .map_err(|e| failed(e.to_string()))?
                    .into_bytes(),
                "image/svg+xml",
            ),
            _ => (
                render::png(&spec, &data).map_err(|e| failed(e.to_string()))?,
                "image/png",
            ),
        };
        Ok(Response::new(pb::RenderLabelResponse {
            data,
            content_type: content_type.to_owned(),
        }))
    }
}

impl<S: Store> Labels<S> {
    /// The current version of template `name` as the printer's layout.
    async fn spec(&self, name: &str) -> Result<LabelSpec, Status> {
        let template = self
            .store
            .template(name, None)
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::not_found(format!("template {name} does not exist")))?;
        unit::spec(&template).map_err(|e| Status::failed_precondition(e.to_string()))
    }

    /// The label values of each known serial for `spec` (unknown ones are left out: the
    /// writer names them).
    async fn labels_of(
        &self,
        spec: &LabelSpec,
        serials: &[String],
    ) -> Result<Vec<LabelData>, Status> {
        let mut items = HashMap::new();
        let mut labels = Vec::with_capacity(serials.len());
        for serial in serials {
            let Some(unit) = self.store.unit(serial).await.map_err(store_status)? else {
                continue;
            };
            if !items.contains_key(&unit.sku) {
                let item = self.store.item(&unit.sku).await.map_err(store_status)?;
                items.insert(unit.sku.clone(), item);
            }
            let Some(Some(item)) = items.get(&unit.sku) else {
                continue;
            };
            let facts = self.store.facts(serial).await.map_err(store_status)?;
            labels.push(
                unit::data(spec, item, &unit, &facts)
                    .map_err(|e| Status::failed_precondition(e.to_string()))?,
            );
        }
        Ok(labels)
    }
}
