//! `ips admin ...`: operator tasks that need no running API, such as creating the first admin.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;
use ips_core::domain::{password, Role};
use ips_core::store::{staff, teams};
use ips_core::Db;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a staff account. The password is read from a prompt, or from the first line of
    /// standard input when it is not a terminal; never from the command line, where other
    /// users and shell history would see it.
    CreateStaff {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// specialist, supervisor or admin
        #[arg(long)]
        role: String,
        /// Required for specialists and supervisors.
        #[arg(long)]
        team_id: Option<i64>,
    },
}

pub async fn run(command: AdminCommand, db: Db) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateStaff {
            email,
            name,
            role,
            team_id,
        } => {
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role must be specialist, supervisor or admin"))?;
            if role != Role::Admin && team_id.is_none() {
                anyhow::bail!("--team-id is required for specialists and supervisors");
            }
            if !email.contains('@') || email.len() > 254 {
                anyhow::bail!("--email must be an e-mail address");
            }
            let given = read_password()?;
            if let Some(why) = password::weakness(&given) {
                anyhow::bail!("the password {why}");
            }
            let password_hash = password::hash(&given)?;
            let member = db
                .write(move |conn| {
                    if let Some(team) = team_id {
                        if !teams::exists(conn, team)? {
                            return Err(ips_core::StoreError::Conflict(format!(
                                "there is no team {team}"
                            )));
                        }
                    }
                    staff::create_active(conn, email, name, role, team_id, password_hash)
                })
                .await?;
            println!(
                "created {} {} (id {})",
                member.role, member.email, member.id
            );
            Ok(())
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            anyhow::bail!("the passwords differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}
