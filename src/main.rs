use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use essor::config::Settings;
use essor::startup::Application;

/// essor — appel à projets « Entreprendre autrement » (Métropole Européenne de Lille).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an account, e.g. the first admin:
    /// `essor create-user --role admin --email a@mel.fr --full-name "A B" --password-stdin`.
    CreateUser {
        #[arg(long)]
        role: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrateur")]
        full_name: String,
        /// Read the password from standard input (first line), so it stays out of the
        /// shell history and the process list.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Fill the database with a demonstration call and its applications (French data in
    /// every state, with documents, reviews and decisions), through the services, dated over
    /// the eight weeks before now.
    Seed {
        /// Required: says this is demonstration data.
        #[arg(long, required = true)]
        demo: bool,
        /// How many applications.
        #[arg(long, default_value_t = 200)]
        applications: usize,
        /// Read the accounts' password from standard input (first line) instead of using the
        /// published demo password; required in production unless ESSOR_DEMO_PASSWORD is set.
        #[arg(long)]
        password_stdin: bool,
        /// For benchmarks only: insert the rows by batches around the services (fast for
        /// 100 000 applications; no documents, no mails).
        #[arg(long)]
        bulk: bool,
    },
    /// The audit trail (DESIGN.md §18): signing key, checkpoints, export, verification.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print the OpenAPI document (`essor openapi > openapi.yaml`).
    Openapi {
        /// yaml (default) or json.
        #[arg(long, default_value = "yaml")]
        format: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Make a new Ed25519 signing key (PKCS#8 PEM, mode 0600; never over an existing file)
    /// and print its public key. FILE defaults to APP__AUDIT__SIGNING_KEY_FILE.
    InitKey { file: Option<PathBuf> },
    /// Sign a checkpoint of the trail as it is now.
    Checkpoint,
    /// Write the trail to DIR: events.jsonl, checkpoints.jsonl, public-key.pem (never the
    /// private key).
    Export { dir: PathBuf },
    /// Recompute the chain and check the checkpoints: prints `verified N events` and exits 0,
    /// or names the first seq that does not match and exits 1.
    Verify {
        /// Verify an export folder instead of the database (no database, no configuration).
        #[arg(long, visible_alias = "dir")]
        export: Option<PathBuf>,
        /// The public key (PEM) to check the signatures with, instead of the export's own copy.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    // What an auditor runs needs neither the database nor the configuration.
    if let Command::Audit {
        command:
            AuditCommand::Verify {
                export: Some(dir),
                public_key,
            },
    } = &command
    {
        return verify_export(dir, public_key.as_deref());
    }
    if let Command::Audit {
        command: AuditCommand::InitKey { file: Some(file) },
    } = &command
    {
        return init_key(file);
    }
    if let Command::Openapi { format } = &command {
        let spec = essor::openapi::spec();
        let text = match format.as_str() {
            "json" => spec.to_pretty_json().map_err(|e| e.to_string()),
            "yaml" => Ok(essor::openapi::spec_yaml()),
            other => Err(format!("unknown format {other:?} (yaml or json)")),
        };
        return match text {
            Ok(t) => {
                print!("{t}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("essor: {e}");
                ExitCode::FAILURE
            }
        };
    }

    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("essor: {e}");
            return ExitCode::from(2);
        }
    };
    essor::telemetry::init(settings.env);
    if let Some(warning) = settings.base_url_warning() {
        tracing::warn!("{warning}");
    }

    let serving = matches!(command, Command::Serve);
    let runtime = actix_web::rt::System::new();
    let result = runtime.block_on(async move {
        match command {
            Command::Serve => {
                let app = Application::build(settings).await?;
                app.run_until_stopped().await?;
                tracing::info!("stopped");
                Ok(())
            }
            Command::Migrate => {
                let db = essor::db::Db::connect(
                    &settings.database.url,
                    1,
                    std::time::Duration::from_secs(settings.database.connect_timeout_seconds),
                )?;
                let applied = db.migrate()?;
                for m in &applied {
                    tracing::info!(migration = %m, "applied");
                }
                println!("{} migration(s) applied", applied.len());
                Ok(())
            }
            Command::CreateUser {
                role,
                email,
                full_name,
                password_stdin,
            } => create_user(settings, &role, &email, &full_name, password_stdin).await,
            Command::Seed {
                demo: _,
                applications,
                password_stdin,
                bulk,
            } => {
                let password = if password_stdin {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    Some(line.trim_end_matches(['\n', '\r']).to_owned())
                } else {
                    std::env::var(essor::seed::PASSWORD_VAR).ok()
                };
                // Refused before touching the database.
                essor::seed::demo_password(settings.env, password.clone())?;
                let published = password.as_deref().is_none_or(str::is_empty);
                let options = essor::seed::DemoOptions {
                    applications,
                    password,
                };
                let db = essor::db::Db::connect(
                    &settings.database.url,
                    2,
                    std::time::Duration::from_secs(settings.database.connect_timeout_seconds),
                )?;
                let started = std::time::Instant::now();
                let migrator = db.clone();
                actix_web::web::block(move || migrator.migrate()).await??;
                let report = if bulk {
                    let seeder = db.clone();
                    actix_web::web::block(move || {
                        essor::seed::seed_bulk(&seeder, &settings, options)
                    })
                    .await??
                } else {
                    essor::seed::seed_demo(db, settings, options).await?
                };
                println!(
                    "seeded call {} with {} applications and {} reviews in {:.1} s",
                    report.call_id,
                    report.applications,
                    report.reviews,
                    started.elapsed().as_secs_f64()
                );
                let password = if published {
                    essor::seed::DEMO_PASSWORD
                } else {
                    "the one given"
                };
                println!("accounts (password: {password}):");
                for (role, email, name) in &report.accounts {
                    println!("  {role:<9} {email}  {name}");
                }
                Ok(())
            }
            Command::Audit { command } => audit(settings, command).await,
            Command::Openapi { .. } => unreachable!("handled above"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let e: anyhow::Error = e;
            // Said once: the server's log (JSON in production) for `serve`, one line on the
            // terminal for the commands a person types (the log also writes to stderr).
            if serving {
                tracing::error!(error = %format!("{e:#}"), "fatal");
            } else {
                eprintln!("essor: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn create_user(
    settings: Settings,
    role: &str,
    email: &str,
    full_name: &str,
    password_stdin: bool,
) -> anyhow::Result<()> {
    use essor::domain::account::Role;
    use essor::services::accounts::{self, NewAccount};

    let role = Role::parse(role).ok_or_else(|| {
        anyhow::anyhow!("unknown role {role:?}: applicant, reviewer, staff or admin")
    })?;
    anyhow::ensure!(password_stdin, "--password-stdin is required");
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();

    let db = essor::db::Db::connect(
        &settings.database.url,
        1,
        std::time::Duration::from_secs(settings.database.connect_timeout_seconds),
    )?;
    let migrator = db.clone();
    actix_web::web::block(move || migrator.migrate()).await??;
    let state = essor::state::AppState::new(db, settings)?;
    let account = NewAccount::parse(email, &password, full_name, role).map_err(describe)?;
    let user = accounts::create(&state, account).await.map_err(describe)?;
    println!(
        "created {} {} ({})",
        user.role.as_str(),
        user.email,
        user.id
    );
    Ok(())
}

/// A refusal as one line for the terminal.
fn describe(e: essor::error::ServiceError) -> anyhow::Error {
    match e.fields() {
        Some(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|(f, m)| format!("{f}: {}", m.join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        None => match e {
            essor::error::ServiceError::Internal(_) => anyhow::anyhow!(e.to_string()),
            other => anyhow::anyhow!(other.message()),
        },
    }
}

fn init_key(file: &Path) -> ExitCode {
    match essor::services::audit::init_key(file) {
        Ok(key) => {
            println!(
                "audit signing key written to {} (mode 0600)",
                file.display()
            );
            print!(
                "{}",
                essor::services::audit::public_key_pem(&key.verifying_key())
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("essor: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `verified N events` and 0, or the first seq that does not match and 1 (2: unreadable).
fn report(
    outcome: Result<essor::domain::audit_chain::Verified, essor::domain::audit_chain::Mismatch>,
) -> ExitCode {
    match outcome {
        Ok(v) => {
            println!(
                "verified {} events ({} erased payloads, {} checkpoints)",
                v.events, v.erased, v.checkpoints
            );
            ExitCode::SUCCESS
        }
        Err(m) => {
            println!("mismatch at seq {}: {}", m.seq, m.failure);
            ExitCode::from(1)
        }
    }
}

fn verify_export(dir: &Path, public_key: Option<&Path>) -> ExitCode {
    let key = match public_key
        .map(essor::services::audit::read_public_key)
        .transpose()
    {
        Ok(k) => k,
        Err(e) => {
            eprintln!("essor: {e}");
            return ExitCode::from(2);
        }
    };
    match essor::services::audit::verify_dir(dir, key) {
        Ok(outcome) => report(outcome),
        Err(e) => {
            eprintln!("essor: {e}");
            ExitCode::from(2)
        }
    }
}

async fn audit(settings: Settings, command: AuditCommand) -> anyhow::Result<()> {
    use essor::services::audit as trail;
    if let AuditCommand::InitKey { file } = &command {
        let path = match file {
            Some(f) => f.clone(),
            None => settings.audit.signing_key_file.clone().ok_or_else(|| {
                anyhow::anyhow!(
                    "name the file: essor audit init-key FILE, or set APP__AUDIT__SIGNING_KEY_FILE"
                )
            })?,
        };
        return match init_key(&path) {
            c if c == ExitCode::SUCCESS => Ok(()),
            _ => Err(anyhow::anyhow!("no key made")),
        };
    }
    let db = essor::db::Db::connect(
        &settings.database.url,
        1,
        std::time::Duration::from_secs(settings.database.connect_timeout_seconds),
    )?;
    let migrator = db.clone();
    actix_web::rt::task::spawn_blocking(move || migrator.migrate()).await??;
    let key = trail::signing_key(&settings)?;
    match command {
        AuditCommand::InitKey { .. } => Ok(()),
        AuditCommand::Checkpoint => {
            let now = essor::clock::Clock::system().now();
            let c = trail::checkpoint(&db, key, now).await.map_err(describe)?;
            println!(
                "checkpoint signed: size {} root {} at {}",
                c.size, c.root, c.at
            );
            Ok(())
        }
        AuditCommand::Export { dir } => {
            let public = key.verifying_key();
            let shown = dir.display().to_string();
            let (events, checkpoints) = db
                .run(move |conn| {
                    trail::export_in(conn, &public, &dir)
                        .map_err(|e| essor::error::ServiceError::Internal(e.into()))
                })
                .await
                .map_err(describe)?;
            println!("exported {events} events and {checkpoints} checkpoints to {shown}");
            Ok(())
        }
        AuditCommand::Verify { public_key, .. } => {
            let public = match public_key {
                Some(p) => trail::read_public_key(&p)?,
                None => key.verifying_key(),
            };
            let outcome = db
                .run(move |conn| trail::verify_in(conn, public))
                .await
                .map_err(describe)?;
            let code = report(outcome);
            if code != ExitCode::SUCCESS {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
