//! `template`, `print` and `label preview`: label templates, governed print jobs with their
//! ZPL, and a look at a label before it prints.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

use super::{EXIT_OK, request_failed};
use crate::client::Conn;
use crate::domain::time::format_utc;
use crate::proto::v1 as pb;
use crate::proto::v1::label_service_client::LabelServiceClient;

#[derive(Subcommand, Debug)]
pub enum TemplateCommand {
    /// Create a template or its next version. A LOCKED one only a SUPERVISOR may change.
    Put {
        name: String,
        /// Width x height in millimetres.
        #[arg(long, default_value = "50x30", value_parser = parse_size)]
        size: (u32, u32),
        #[arg(long, default_value_t = 203)]
        dpi: u32,
        /// What prints, in order: sku, serial, qr, code128, lot, batch, size, colour, po,
        /// mfg_unit, mfg_date.
        #[arg(long, value_delimiter = ',', default_value = "qr,sku,serial")]
        fields: Vec<String>,
        /// Fields every unit must have, or printing is refused.
        #[arg(long, value_delimiter = ',')]
        required: Vec<String>,
        /// Lock it: from then on only a SUPERVISOR may change it.
        #[arg(long)]
        locked: bool,
    },
    /// A template's current version, or --version N.
    Show {
        name: String,
        #[arg(long, default_value_t = 0)]
        version: u32,
    },
    /// Every template's current version.
    List,
}

/// `print --template T SERIAL...`.
#[derive(Args, Debug)]
pub struct PrintArgs {
    #[arg(long)]
    template: String,
    /// The serials to label, each once.
    #[arg(required = true)]
    serials: Vec<String>,
    /// Labels again for serials printed before (a damaged label); needs --reason.
    #[arg(long)]
    reprint: bool,
    #[arg(long, default_value = "")]
    reason: String,
    /// Write the job's ZPL to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Send the job's ZPL to this printer (HOST or HOST:PORT, port 9100 by default).
    #[arg(long)]
    printer: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum LabelCommand {
    /// One unit's label as the template lays it out, to look at before printing: PNG, SVG or
    /// ZPL by the --out file's extension. Records nothing.
    Preview {
        serial: String,
        #[arg(long)]
        template: String,
        #[arg(long)]
        out: PathBuf,
    },
}

pub async fn label(channel: Conn, command: LabelCommand) -> anyhow::Result<u8> {
    let LabelCommand::Preview {
        serial,
        template,
        out,
    } = command;
    let format = match out.extension().and_then(|e| e.to_str()) {
        Some("png") => pb::LabelFormat::Png,
        Some("svg") => pb::LabelFormat::Svg,
        Some("zpl") => pb::LabelFormat::Zpl,
        _ => anyhow::bail!("--out {} must end in .png, .svg or .zpl", out.display()),
    };
    let label = LabelServiceClient::new(channel)
        .render_label(pb::RenderLabelRequest {
            serial,
            template,
            format: format.into(),
        })
        .await
        .map_err(request_failed)?
        .into_inner();
    std::fs::write(&out, &label.data).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} ({}, {} bytes)",
        out.display(),
        label.content_type,
        label.data.len()
    );
    Ok(EXIT_OK)
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once('x')
        .ok_or_else(|| format!("size {text:?} is not WIDTHxHEIGHT in mm, e.g. 50x30"))?;
    let mm = |v: &str| {
        v.parse::<u32>()
            .map_err(|_| format!("size {text:?}: {v:?} is not a whole number of mm"))
    };
    Ok((mm(w)?, mm(h)?))
}

fn template_json(t: &pb::LabelTemplate) -> serde_json::Value {
    json!({
        "name": t.name,
        "version": t.version,
        "locked": t.locked,
        "width_mm": t.width_mm,
        "height_mm": t.height_mm,
        "dpi": t.dpi,
        "fields": t.fields,
        "required": t.required,
        "updated_by": t.updated_by,
        "updated_at_ms": t.updated_at_ms,
    })
}

fn print_template(t: &pb::LabelTemplate, json: bool) {
    if json {
        println!("{}", template_json(t));
        return;
    }
    println!(
        "{} v{}{}  {}x{} mm {} dpi  fields {}{}  by {} at {}",
        t.name,
        t.version,
        if t.locked { " LOCKED" } else { "" },
        t.width_mm,
        t.height_mm,
        t.dpi,
        t.fields.join(","),
        if t.required.is_empty() {
            String::new()
        } else {
            format!("  required {}", t.required.join(","))
        },
        if t.updated_by.is_empty() {
            "-"
        } else {
            &t.updated_by
        },
        format_utc(t.updated_at_ms)
    );
}

pub fn print_job(job: &pb::PrintJob, json: bool) {
    if json {
        println!(
            "{}",
            json!({
                "id": job.id,
                "template": job.template,
                "template_version": job.template_version,
                "operator": job.operator,
                "created_at_ms": job.created_at_ms,
                "reprint": job.reprint,
                "reason": job.reason,
                "lines": job.lines.iter().map(|l| json!({
                    "serial": l.serial,
                    "sku": l.sku,
                    "replaced": l.replaced,
                    "prints": l.prints,
                })).collect::<Vec<_>>(),
            })
        );
        return;
    }
    println!(
        "job {}  template {} v{}  {} label(s){}  by {} at {}",
        job.id,
        job.template,
        job.template_version,
        job.lines.len(),
        if job.reprint {
            format!("  REPRINT ({})", job.reason)
        } else {
            String::new()
        },
        if job.operator.is_empty() {
            "-"
        } else {
            &job.operator
        },
        format_utc(job.created_at_ms)
    );
    for line in &job.lines {
        println!(
            "  {}  {}  print {}{}",
            line.serial,
            line.sku,
            line.prints,
            if line.replaced.is_empty() {
                String::new()
            } else {
                format!("  replaces {} (voided)", line.replaced)
            }
        );
    }
}

pub async fn template(channel: Conn, json: bool, command: TemplateCommand) -> anyhow::Result<u8> {
    let mut client = LabelServiceClient::new(channel);
    match command {
        TemplateCommand::Put {
            name,
            size: (width_mm, height_mm),
            dpi,
            fields,
            required,
            locked,
        } => {
            let t = client
                .put_template(pb::PutTemplateRequest {
                    template: Some(pb::LabelTemplate {
                        name,
                        locked,
                        width_mm,
                        height_mm,
                        dpi,
                        fields,
                        required,
                        ..Default::default()
                    }),
                })
                .await
                .map_err(request_failed)?
                .into_inner()
                .template
                .unwrap_or_default();
            print_template(&t, json);
        }
        TemplateCommand::Show { name, version } => {
            let t = client
                .get_template(pb::GetTemplateRequest { name, version })
                .await
                .map_err(request_failed)?
                .into_inner()
                .template
                .unwrap_or_default();
            print_template(&t, json);
        }
        TemplateCommand::List => {
            let templates = client
                .list_templates(pb::ListTemplatesRequest {})
                .await
                .map_err(request_failed)?
                .into_inner()
                .templates;
            for t in &templates {
                print_template(t, json);
            }
        }
    }
    Ok(EXIT_OK)
}

pub async fn print(channel: Conn, json: bool, args: PrintArgs) -> anyhow::Result<u8> {
    let mut client = LabelServiceClient::new(channel);
    let response = client
        .print(pb::PrintRequest {
            template: args.template,
            serials: args.serials,
            reprint: args.reprint,
            reason: args.reason,
        })
        .await
        .map_err(request_failed)?
        .into_inner();
    let job = response.job.unwrap_or_default();
    if let Some(path) = &args.out {
        std::fs::write(path, &response.zpl)
            .with_context(|| format!("cannot write the ZPL to {}", path.display()))?;
    }
    print_job(&job, json);
    if let Some(printer) = args.printer {
        let zpl = response.zpl.into_bytes();
        let to = printer.clone();
        tokio::task::spawn_blocking(move || {
            crate::label::send::send_job(
                &to,
                &zpl,
                crate::label::send::CONNECT_TIMEOUT_DEFAULT,
                crate::label::send::WRITE_TIMEOUT_DEFAULT,
            )
        })
        .await
        .context("the printer task failed")?
        .with_context(|| format!("job {} was recorded but not sent to {printer}", job.id))?;
        eprintln!("sent job {} to {printer}", job.id);
    }
    Ok(EXIT_OK)
}
