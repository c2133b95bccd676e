//! THE metadata key layout. Every key kcr stores is built here and nowhere else.
//!
//! ```text
//! key                                              value (codec: version byte + JSON)
//! ---------------------------------------------    -----------------------------------------
//! proj\0{project}                                  ProjectRecord
//! repo\0{project}/{repository}                     RepositoryRecord
//! img\0{project}/{repository}/{image}              ImageRecord
//! man\0{image path}\0{digest}                      ManifestRecord
//! body\0{image path}\0{digest}                     raw manifest bytes (no codec)
//! tag\0{image path}\0{tag}                         Digest (live tags only)
//! tseq\0{image path}\0{tag}                        next history sequence number (u64 BE)
//! hist\0{image path}\0{tag}\0{seq: u64 BE}         TagEvent (append-only)
//! ref\0{image path}\0{subject}\0{referrer}         ReferrerRecord
//! link\0{image path}\0{digest}                     BlobLink
//! org\0{org}                                       OrgRecord
//! user\0{user}                                     UserRecord
//! akey\0{key id}                                   AccessKeyRecord
//! ukey\0{user}\0{key id}                           () (a user's keys)
//! pmem\0{project}\0{user}                          Membership
//! umem\0{user}\0{project}                          () (a user's projects)
//! rgrant\0{project}/{repository}\0{user}           RepoGrant
//! ugrant\0{user}\0{project}/{repository}           () (a user's repository roles)
//! ```
//!
//! Why this shape: paths are written `project/repository/image` so a scan of `img\0` returns the
//! catalog in lexical order, and no validated name may contain `\0`, so `\0` ends a path
//! unambiguously and a prefix scan over `tag\0{path}\0` lists exactly one image's tags in lexical
//! (byte) order, as the tags-list pagination of the OCI spec requires. Counters used by quotas
//! live inside the parent records and change in the same transaction as the children.

use crate::digest::Digest;
use crate::names::{ImagePath, ProjectId, RepositoryName, Tag};

fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

/// `proj\0{project}`.
pub fn project(id: &ProjectId) -> Vec<u8> {
    key(&[b"proj", id.as_str().as_bytes()])
}

/// Prefix of all projects.
pub fn project_prefix() -> Vec<u8> {
    key(&[b"proj", b""])
}

/// `repo\0{project}/{repository}`.
pub fn repository(project: &ProjectId, name: &RepositoryName) -> Vec<u8> {
    key(&[b"repo", format!("{project}/{name}").as_bytes()])
}

/// Prefix of a project's repositories.
pub fn repositories_of(project: &ProjectId) -> Vec<u8> {
    key(&[b"repo", format!("{project}/").as_bytes()])
}

/// `img\0{path}`.
pub fn image(path: &ImagePath) -> Vec<u8> {
    key(&[b"img", path.to_string().as_bytes()])
}

/// Prefix of all images, or of one project's.
pub fn images_of(project: Option<&ProjectId>) -> Vec<u8> {
    match project {
        Some(p) => key(&[b"img", format!("{p}/").as_bytes()]),
        None => key(&[b"img", b""]),
    }
}

/// Recovers an image path from an `img\0` key.
pub fn image_path_from_key(k: &[u8]) -> Option<ImagePath> {
    let rest = k.strip_prefix(b"img\0")?;
    ImagePath::from_full_path(std::str::from_utf8(rest).ok()?).ok()
}

fn under_image(kind: &[u8], path: &ImagePath, rest: &[&[u8]]) -> Vec<u8> {
    let p = path.to_string();
    let mut parts: Vec<&[u8]> = vec![kind, p.as_bytes()];
    parts.extend_from_slice(rest);
    key(&parts)
}

/// `man\0{path}\0{digest}`.
pub fn manifest(path: &ImagePath, digest: &Digest) -> Vec<u8> {
    under_image(b"man", path, &[digest.to_string().as_bytes()])
}

/// `body\0{path}\0{digest}`.
pub fn manifest_body(path: &ImagePath, digest: &Digest) -> Vec<u8> {
    under_image(b"body", path, &[digest.to_string().as_bytes()])
}

/// `tag\0{path}\0{tag}`.
pub fn tag(path: &ImagePath, tag: &Tag) -> Vec<u8> {
    under_image(b"tag", path, &[tag.as_str().as_bytes()])
}

/// Prefix of an image's tags.
pub fn tags_of(path: &ImagePath) -> Vec<u8> {
    under_image(b"tag", path, &[b""])
}

/// `tseq\0{path}\0{tag}`.
pub fn tag_sequence(path: &ImagePath, tag: &Tag) -> Vec<u8> {
    under_image(b"tseq", path, &[tag.as_str().as_bytes()])
}

/// Prefix of the sequence counters of an image's tags: one per tag that ever existed.
pub fn tag_sequences_of(path: &ImagePath) -> Vec<u8> {
    under_image(b"tseq", path, &[b""])
}

/// `hist\0{path}\0{tag}\0{seq}`.
pub fn tag_event(path: &ImagePath, tag: &Tag, seq: u64) -> Vec<u8> {
    under_image(
        b"hist",
        path,
        &[tag.as_str().as_bytes(), &seq.to_be_bytes()],
    )
}

/// Prefix of one tag's history.
pub fn tag_events_of(path: &ImagePath, tag: &Tag) -> Vec<u8> {
    under_image(b"hist", path, &[tag.as_str().as_bytes(), b""])
}

/// `ref\0{path}\0{subject}\0{referrer}`.
pub fn referrer(path: &ImagePath, subject: &Digest, referrer: &Digest) -> Vec<u8> {
    under_image(
        b"ref",
        path,
        &[
            subject.to_string().as_bytes(),
            referrer.to_string().as_bytes(),
        ],
    )
}

/// Prefix of the referrers of one subject.
pub fn referrers_of(path: &ImagePath, subject: &Digest) -> Vec<u8> {
    under_image(b"ref", path, &[subject.to_string().as_bytes(), b""])
}

/// `link\0{path}\0{digest}`.
pub fn blob_link(path: &ImagePath, digest: &Digest) -> Vec<u8> {
    under_image(b"link", path, &[digest.to_string().as_bytes()])
}

/// Prefix of every manifest record of every image (garbage collection's mark).
pub fn all_manifests() -> Vec<u8> {
    key(&[b"man", b""])
}

/// Prefix of every blob link of every image (garbage collection's plan).
pub fn all_blob_links() -> Vec<u8> {
    key(&[b"link", b""])
}

/// The image and digest named by a `man\0` or `link\0` key (`kind` is `man` or `link`).
pub fn image_digest_from_key(kind: &[u8], k: &[u8]) -> Option<(ImagePath, Digest)> {
    let rest = k.strip_prefix(kind)?.strip_prefix(b"\0")?;
    let split = rest.iter().rposition(|b| *b == 0)?;
    let path = ImagePath::from_full_path(std::str::from_utf8(&rest[..split]).ok()?).ok()?;
    let digest = std::str::from_utf8(&rest[split + 1..]).ok()?.parse().ok()?;
    Some((path, digest))
}

/// `org\0{org}`.
pub fn org(id: &crate::access::OrgId) -> Vec<u8> {
    key(&[b"org", id.as_str().as_bytes()])
}

/// `user\0{user}`.
pub fn user(id: &crate::access::UserId) -> Vec<u8> {
    key(&[b"user", id.as_str().as_bytes()])
}

/// Prefix of all users.
pub fn users() -> Vec<u8> {
    key(&[b"user", b""])
}

/// `akey\0{id}`.
pub fn access_key(id: &str) -> Vec<u8> {
    key(&[b"akey", id.as_bytes()])
}

/// `ukey\0{user}\0{id}`.
pub fn user_key(user: &crate::access::UserId, id: &str) -> Vec<u8> {
    key(&[b"ukey", user.as_str().as_bytes(), id.as_bytes()])
}

/// Prefix of a user's keys.
pub fn user_keys(user: &crate::access::UserId) -> Vec<u8> {
    key(&[b"ukey", user.as_str().as_bytes(), b""])
}

/// `pmem\0{project}\0{user}`.
pub fn membership(project: &ProjectId, user: &crate::access::UserId) -> Vec<u8> {
    key(&[
        b"pmem",
        project.as_str().as_bytes(),
        user.as_str().as_bytes(),
    ])
}

/// Prefix of a project's members.
pub fn memberships_of(project: &ProjectId) -> Vec<u8> {
    key(&[b"pmem", project.as_str().as_bytes(), b""])
}

/// `umem\0{user}\0{project}`.
pub fn user_membership(user: &crate::access::UserId, project: &ProjectId) -> Vec<u8> {
    key(&[
        b"umem",
        user.as_str().as_bytes(),
        project.as_str().as_bytes(),
    ])
}

/// Prefix of a user's projects.
pub fn user_memberships(user: &crate::access::UserId) -> Vec<u8> {
    key(&[b"umem", user.as_str().as_bytes(), b""])
}

/// `rgrant\0{project}/{repository}\0{user}`.
pub fn repo_grant(
    project: &ProjectId,
    repo: &RepositoryName,
    user: &crate::access::UserId,
) -> Vec<u8> {
    key(&[
        b"rgrant",
        format!("{project}/{repo}").as_bytes(),
        user.as_str().as_bytes(),
    ])
}

/// Prefix of a repository's grants.
pub fn repo_grants_of(project: &ProjectId, repo: &RepositoryName) -> Vec<u8> {
    key(&[b"rgrant", format!("{project}/{repo}").as_bytes(), b""])
}

/// `ugrant\0{user}\0{project}/{repository}`.
pub fn user_grant(
    user: &crate::access::UserId,
    project: &ProjectId,
    repo: &RepositoryName,
) -> Vec<u8> {
    key(&[
        b"ugrant",
        user.as_str().as_bytes(),
        format!("{project}/{repo}").as_bytes(),
    ])
}

/// Prefix of a user's repository grants.
pub fn user_grants(user: &crate::access::UserId) -> Vec<u8> {
    key(&[b"ugrant", user.as_str().as_bytes(), b""])
}

/// Prefixes of every key that belongs to one image (for deleting a repository).
pub fn image_prefixes(path: &ImagePath) -> Vec<Vec<u8>> {
    [
        &b"man"[..],
        b"body",
        b"tag",
        b"tseq",
        b"hist",
        b"ref",
        b"link",
    ]
    .iter()
    .map(|kind| under_image(kind, path, &[b""]))
    .collect()
}

/// Prefix of a repository's images.
pub fn images_of_repository(project: &ProjectId, repo: &RepositoryName) -> Vec<u8> {
    key(&[b"img", format!("{project}/{repo}/").as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_prefix_does_not_match_longer_image_names() {
        let a = ImagePath::from_full_path("p/r/img").unwrap();
        let b = ImagePath::from_full_path("p/r/img2").unwrap();
        let t: Tag = "v1".parse().unwrap();
        assert!(tag(&a, &t).starts_with(&tags_of(&a)));
        assert!(!tag(&b, &t).starts_with(&tags_of(&a)));
    }

    #[test]
    fn manifest_and_link_keys_name_their_image_and_digest() {
        let a = ImagePath::from_full_path("p/r/x/y").unwrap();
        let d = crate::digest::Digest::sha256_of(b"x");
        assert_eq!(
            image_digest_from_key(b"man", &manifest(&a, &d)),
            Some((a.clone(), d.clone()))
        );
        assert_eq!(
            image_digest_from_key(b"link", &blob_link(&a, &d)),
            Some((a.clone(), d.clone()))
        );
        assert!(manifest(&a, &d).starts_with(&all_manifests()));
        assert!(!manifest_body(&a, &d).starts_with(&all_manifests()));
        assert_eq!(image_digest_from_key(b"link", &manifest(&a, &d)), None);
    }

    #[test]
    fn image_key_round_trips() {
        let a = ImagePath::from_full_path("p/r/x/y").unwrap();
        assert_eq!(image_path_from_key(&image(&a)), Some(a));
    }
}
