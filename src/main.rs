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
    /// Print the OpenAPI document (`essor openapi > openapi.yaml`).
    Openapi {
        /// yaml (default) or json.
        #[arg(long, default_value = "yaml")]
        format: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
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
