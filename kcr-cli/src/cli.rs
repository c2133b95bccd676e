//! The command line, as clap derive types.

use clap::{Args, Parser, Subcommand};

/// kcr: manage projects, repositories, members, permissions, tags, users, access keys and
/// garbage collection of a kcr registry. Registry clients (docker, podman, skopeo) sign in with an access key created here.
#[derive(Debug, Parser)]
#[command(name = "kcr", version)]
pub struct Cli {
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in and remember the server and credentials (user and password, or an access key).
    Login(Login),
    /// Forget the stored credentials.
    Logout,
    /// Show who you are signed in as, your projects and repository roles.
    Whoami,
    /// Change your password (read from standard input).
    Passwd,
    /// Projects.
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Project members and their IAM roles (admin, member).
    #[command(subcommand)]
    Member(MemberCmd),
    /// Repositories of a project.
    #[command(subcommand)]
    Repo(RepoCmd),
    /// Repository roles (member, viewer) for organization users outside the project.
    #[command(subcommand)]
    Permission(PermissionCmd),
    /// Users of an organization.
    #[command(subcommand)]
    User(UserCmd),
    /// Access keys: the credentials of docker, podman, skopeo and this CLI.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Tags of an image: list (with deleted ones), history, restore, delete.
    #[command(subcommand)]
    Tag(TagCmd),
    /// Remove blob data no image references any more (registry administrators).
    Gc(Gc),
}

/// `kcr tag ...`. Images are named `project/repository/image`, tags `project/repository/image:tag`.
#[derive(Debug, Subcommand)]
pub enum TagCmd {
    /// Live tags with their digests, then deleted tags that can be restored.
    List {
        /// `project/repository/image`.
        image: String,
    },
    /// A tag's timeline: created, moved, deleted, restored.
    History {
        /// `project/repository/image:tag`.
        tag: String,
    },
    /// Restore a deleted tag to the version it pointed at when deleted.
    Restore {
        /// `project/repository/image:tag`.
        tag: String,
        /// Restore to this earlier version of the tag instead (`sha256:...`).
        #[arg(long)]
        digest: Option<String>,
    },
    /// Delete a tag (the image version stays, and the tag can be restored).
    Delete {
        /// `project/repository/image:tag`.
        tag: String,
    },
}

/// `kcr gc`.
#[derive(Debug, Args)]
pub struct Gc {
    /// Report what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep data uploaded or linked more recently than this: `0`, `90s`, `30m`, `1h`, `2d`
    /// [default: the server's, 1h].
    #[arg(long)]
    pub grace: Option<String>,
}

/// `kcr login`.
#[derive(Debug, Args)]
pub struct Login {
    /// Server URL, e.g. http://127.0.0.1:5000.
    #[arg(long, env = "KCR_SERVER")]
    pub server: String,
    /// User name or access-key id.
    #[arg(long, short)]
    pub user: String,
    /// Read the password or secret from standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `kcr project ...`.
#[derive(Debug, Subcommand)]
pub enum ProjectCmd {
    /// List your projects.
    List,
    /// Create a project (organization administrators); you become its project admin.
    Create {
        /// Project id (a DNS label).
        id: String,
    },
    /// Show a project.
    Show {
        /// Project id.
        id: String,
    },
}

/// `kcr member ...`.
#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    /// List a project's members.
    List {
        /// Project id.
        project: String,
    },
    /// Add a member or change their role.
    Set {
        /// Project id.
        project: String,
        /// User name.
        user: String,
        /// `admin` or `member`.
        role: String,
    },
    /// Remove a member.
    Remove {
        /// Project id.
        project: String,
        /// User name.
        user: String,
    },
}

/// `kcr repo ...`.
#[derive(Debug, Subcommand)]
pub enum RepoCmd {
    /// List a project's repositories.
    List {
        /// Project id.
        project: String,
    },
    /// Create a repository.
    Create {
        /// Project id.
        project: String,
        /// Repository name.
        name: String,
        /// Anyone who knows the URI may pull.
        #[arg(long)]
        public: bool,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show a repository.
    Show {
        /// Project id.
        project: String,
        /// Repository name.
        name: String,
    },
    /// Change visibility or description.
    Update {
        /// Project id.
        project: String,
        /// Repository name.
        name: String,
        /// `public` or `private`.
        #[arg(long)]
        visibility: Option<String>,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a repository and every image in it.
    Delete {
        /// Project id.
        project: String,
        /// Repository name.
        name: String,
    },
}

/// `kcr permission ...`.
#[derive(Debug, Subcommand)]
pub enum PermissionCmd {
    /// List repository roles.
    List {
        /// Project id.
        project: String,
        /// Repository name.
        repo: String,
    },
    /// Grant a repository role.
    Set {
        /// Project id.
        project: String,
        /// Repository name.
        repo: String,
        /// User name (of the project's organization).
        user: String,
        /// `member` (push and pull) or `viewer` (pull).
        role: String,
    },
    /// Remove a repository role.
    Remove {
        /// Project id.
        project: String,
        /// Repository name.
        repo: String,
        /// User name.
        user: String,
    },
}

/// `kcr user ...`.
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// List an organization's users.
    List {
        /// Organization (default: yours).
        #[arg(long)]
        org: Option<String>,
    },
    /// Create a user; the password is read from standard input.
    Create {
        /// User name.
        name: String,
        /// Organization (default: yours).
        #[arg(long)]
        org: Option<String>,
        /// Make the user an organization administrator.
        #[arg(long)]
        org_admin: bool,
    },
}

/// `kcr key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// List access keys (never their secrets).
    List {
        /// Whose keys (default: yours).
        #[arg(long)]
        user: Option<String>,
    },
    /// Create an access key; its secret is printed once.
    Create {
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
        /// Days until the key expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke an access key and every token issued for it.
    Revoke {
        /// Key id.
        id: String,
        /// Whose key (default: yours).
        #[arg(long)]
        user: Option<String>,
    },
}
