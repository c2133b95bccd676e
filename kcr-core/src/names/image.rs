//! Repository and image names, and the full path of an image inside kcr.
//!
//! In kcr's words an *image* `{repository}/{image}` lives in a *repository* of a *project*; in OCI's
//! words the whole `{repository}/{image}` is the repository `<name>`. The repository is one path
//! component; the image name is one or more.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{is_path_component, NameError, ProjectId};

/// Longest `project/repository/image` path accepted (the OCI `<name>` limit many clients assume).
pub const MAX_IMAGE_PATH_LEN: usize = 255;

/// A repository: one OCI path component, created before images are pushed into it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepositoryName(String);

/// An image name inside a repository: one or more OCI path components joined by `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageName(String);

const COMPONENT_RULE: &str =
    "path components are lowercase letters and digits, separated by '.', '_', '__' or dashes";

fn check_repository(s: &str) -> Result<(), NameError> {
    const WHAT: &str = "repository name";
    if s.is_empty() {
        return Err(NameError::Empty { what: WHAT });
    }
    if s.len() > 128 {
        return Err(NameError::TooLong {
            what: WHAT,
            name: s.to_owned(),
            max: 128,
        });
    }
    if !is_path_component(s) {
        return Err(NameError::Grammar {
            what: WHAT,
            name: s.to_owned(),
            rule: COMPONENT_RULE,
        });
    }
    Ok(())
}

fn check_image(s: &str) -> Result<(), NameError> {
    const WHAT: &str = "image name";
    if s.is_empty() {
        return Err(NameError::Empty { what: WHAT });
    }
    if s.len() > MAX_IMAGE_PATH_LEN {
        return Err(NameError::TooLong {
            what: WHAT,
            name: s.to_owned(),
            max: MAX_IMAGE_PATH_LEN,
        });
    }
    if !s.split('/').all(is_path_component) {
        return Err(NameError::Grammar {
            what: WHAT,
            name: s.to_owned(),
            rule: COMPONENT_RULE,
        });
    }
    Ok(())
}

super::validated_string!(RepositoryName, check_repository);
super::validated_string!(ImageName, check_image);

/// The full address of an image (an OCI repository) in kcr: project, repository, image.
///
/// ```
/// use kcr_core::{ImagePath, ProjectId};
/// let p = ImagePath::from_oci_name("team-a".parse().unwrap(), "web/frontend/nginx").unwrap();
/// assert_eq!(p.repository().as_str(), "web");
/// assert_eq!(p.image().as_str(), "frontend/nginx");
/// assert_eq!(p.to_string(), "team-a/web/frontend/nginx");
/// assert!(ImagePath::from_oci_name("team-a".parse().unwrap(), "only-repo").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImagePath {
    project: ProjectId,
    repository: RepositoryName,
    image: ImageName,
}

impl ImagePath {
    /// Assembles a path from validated parts, checking the overall length.
    pub fn new(
        project: ProjectId,
        repository: RepositoryName,
        image: ImageName,
    ) -> Result<Self, NameError> {
        let p = ImagePath {
            project,
            repository,
            image,
        };
        let len = p.to_string().len();
        if len > MAX_IMAGE_PATH_LEN {
            return Err(NameError::TooLong {
                what: "image path",
                name: p.to_string(),
                max: MAX_IMAGE_PATH_LEN,
            });
        }
        Ok(p)
    }

    /// Parses `{repository}/{image}` (the OCI `<name>` under a project known from elsewhere).
    pub fn from_oci_name(project: ProjectId, name: &str) -> Result<Self, NameError> {
        let (repo, image) = name
            .split_once('/')
            .ok_or_else(|| NameError::MissingComponent {
                path: name.to_owned(),
                form: "{repository}/{image}",
            })?;
        ImagePath::new(project, repo.parse()?, image.parse()?)
    }

    /// Parses `{project}/{repository}/{image}` (path addressing on localhost or a plain IP).
    pub fn from_full_path(path: &str) -> Result<Self, NameError> {
        let (project, rest) = path
            .split_once('/')
            .ok_or_else(|| NameError::MissingComponent {
                path: path.to_owned(),
                form: "{project}/{repository}/{image}",
            })?;
        let project: ProjectId = project.parse()?;
        if !rest.contains('/') {
            return Err(NameError::MissingComponent {
                path: path.to_owned(),
                form: "{project}/{repository}/{image}",
            });
        }
        ImagePath::from_oci_name(project, rest)
    }

    /// The project.
    pub fn project(&self) -> &ProjectId {
        &self.project
    }

    /// The repository.
    pub fn repository(&self) -> &RepositoryName {
        &self.repository
    }

    /// The image name inside the repository.
    pub fn image(&self) -> &ImageName {
        &self.image
    }

    /// `{repository}/{image}`: the OCI `<name>` as seen under a project host.
    pub fn oci_name(&self) -> String {
        format!("{}/{}", self.repository, self.image)
    }
}

impl fmt::Display for ImagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.project, self.repository, self.image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One OCI path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    const COMPONENT: &str = "[a-z0-9]{1,8}((\\.|_|__|-{1,3})[a-z0-9]{1,8}){0,4}";

    fn image_name() -> impl Strategy<Value = String> {
        proptest::collection::vec(COMPONENT, 1..6).prop_map(|c| c.join("/"))
    }

    fn grammar<T: std::fmt::Debug>(r: Result<T, NameError>) -> bool {
        matches!(r, Err(NameError::Grammar { .. }))
    }

    proptest! {
        #[test]
        fn repositories_round_trip(s in COMPONENT) {
            let r: RepositoryName = s.parse().unwrap();
            prop_assert_eq!(r.as_str(), s.as_str());
            prop_assert_eq!(r.to_string().parse::<RepositoryName>(), Ok(r.clone()));
            let json = serde_json::to_string(&r).unwrap();
            prop_assert_eq!(serde_json::from_str::<RepositoryName>(&json).unwrap(), r);
        }

        #[test]
        fn image_names_round_trip(s in image_name()) {
            let i: ImageName = s.parse().unwrap();
            prop_assert_eq!(i.as_str(), s.as_str());
            prop_assert_eq!(i.to_string().parse::<ImageName>(), Ok(i.clone()));
            let json = serde_json::to_string(&i).unwrap();
            prop_assert_eq!(serde_json::from_str::<ImageName>(&json).unwrap(), i);
        }

        #[test]
        fn image_paths_round_trip(p in "[a-z0-9]{1,10}", r in COMPONENT, i in image_name()) {
            let path = ImagePath::new(p.parse().unwrap(), r.parse().unwrap(), i.parse().unwrap())
                .unwrap();
            prop_assert_eq!(path.to_string(), format!("{p}/{r}/{i}"));
            prop_assert_eq!(ImagePath::from_full_path(&path.to_string()), Ok(path.clone()));
            prop_assert_eq!(
                ImagePath::from_oci_name(path.project().clone(), &path.oci_name()),
                Ok(path.clone())
            );
        }

        #[test]
        fn uppercase_is_rejected(s in COMPONENT, at in any::<prop::sample::Index>(), c in "[A-Z]") {
            let i = at.index(s.len() + 1);
            let bad = format!("{}{c}{}", &s[..i], &s[i..]);
            prop_assert!(grammar(bad.parse::<RepositoryName>()), "{}", bad);
            prop_assert!(grammar(bad.parse::<ImageName>()), "{}", bad);
        }

        #[test]
        fn edge_separators_are_rejected(s in COMPONENT, sep in "[._-]", leading in any::<bool>()) {
            let bad = if leading { format!("{sep}{s}") } else { format!("{s}{sep}") };
            prop_assert!(grammar(bad.parse::<RepositoryName>()), "{}", bad);
            prop_assert!(grammar(bad.parse::<ImageName>()), "{}", bad);
        }

        #[test]
        fn bad_separator_runs_are_rejected(
            a in COMPONENT,
            sep in "_{3,5}|[._-]{0,3}\\.[._-]{1,3}|[._-]{1,3}\\.[._-]{0,3}|_-[._-]{0,3}|-_[._-]{0,3}",
            b in COMPONENT,
        ) {
            let bad = format!("{a}{sep}{b}");
            prop_assert!(grammar(bad.parse::<RepositoryName>()), "{}", bad);
        }

        #[test]
        fn slashes_only_inside_image_names(a in COMPONENT, b in COMPONENT) {
            let two = format!("{a}/{b}");
            prop_assert!(grammar(two.parse::<RepositoryName>()), "{}", two);
            prop_assert!(two.parse::<ImageName>().is_ok());
            for bad in [format!("{a}//{b}"), format!("/{a}"), format!("{a}/")] {
                prop_assert!(grammar(bad.parse::<ImageName>()), "{}", bad);
            }
        }

        #[test]
        fn too_long_is_rejected(s in "[a-z0-9]{129,300}") {
            let repo_too_long =
                matches!(s.parse::<RepositoryName>(), Err(NameError::TooLong { max: 128, .. }));
            prop_assert!(repo_too_long, "{}", s);
            let image = s.parse::<ImageName>();
            if s.len() > MAX_IMAGE_PATH_LEN {
                prop_assert!(matches!(image, Err(NameError::TooLong { .. })), "{}", s);
            } else {
                prop_assert!(image.is_ok(), "{}", s);
            }
        }

        #[test]
        fn long_paths_are_rejected(i in "[a-z0-9]{200,255}", r in "[a-z0-9]{60,128}") {
            let res = ImagePath::new("p".parse().unwrap(), r.parse().unwrap(), i.parse().unwrap());
            let too_long = matches!(res, Err(NameError::TooLong { what: "image path", .. }));
            prop_assert!(too_long);
        }

        #[test]
        fn parsing_never_panics(s in ".{0,300}") {
            let _ = s.parse::<RepositoryName>();
            let _ = s.parse::<ImageName>();
            let _ = ImagePath::from_full_path(&s);
        }
    }
}
