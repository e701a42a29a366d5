//! `baseline report merge`: reads shard reports from files, directories or S3, merges
//! them (`baseline::merge`), writes the merged report and page, prints the summary.

use crate::cli::{self, MergeArgs, Output};
use anyhow::Context as _;
use baseline::aws::Session;
use baseline::merge::{self, Source};

/// `s3://bucket/rest` as (bucket, rest).
fn s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, key))
}

/// The S3 session, made on first use: a merge of local files makes no AWS call.
struct Lazy<'a> {
    g: &'a cli::Global,
    session: Option<Session>,
}

impl Lazy<'_> {
    async fn s3(&mut self) -> anyhow::Result<aws_sdk_s3::Client> {
        if self.session.is_none() {
            self.session = Some(super::connect(self.g).await?);
        }
        Ok(s3_of(self.session.as_ref().expect("just set")))
    }
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> anyhow::Result<Vec<u8>> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(baseline::error::aws_err("s3:GetObject"))
        .with_context(|| format!("cannot read s3://{bucket}/{key}"))?;
    Ok(out
        .body
        .collect()
        .await
        .with_context(|| format!("cannot read s3://{bucket}/{key}"))?
        .to_vec())
}

fn s3_of(session: &Session) -> aws_sdk_s3::Client {
    let region = session
        .configured_region()
        .unwrap_or_else(|| "us-east-1".to_owned());
    session.s3(&region)
}

/// Reads a local file or `s3://bucket/key`.
pub async fn read_uri(session: &Session, uri: &str) -> anyhow::Result<Vec<u8>> {
    read_with(Some(&s3_of(session)), uri).await
}

/// Reads `uri`: with `s3`, which its callers give whenever `uri` is an S3 URI.
async fn read_with(s3: Option<&aws_sdk_s3::Client>, uri: &str) -> anyhow::Result<Vec<u8>> {
    match s3_uri(uri) {
        Some((bucket, key)) if !key.is_empty() => {
            get(s3.expect("an S3 client for an S3 URI"), bucket, key).await
        }
        Some(_) => anyhow::bail!("{uri}: expected s3://bucket/key"),
        None => std::fs::read(uri).with_context(|| format!("cannot read {uri}")),
    }
}

/// Writes a local file (its directory made if missing) or `s3://bucket/key`.
pub async fn write_uri(
    session: &Session,
    uri: &str,
    body: String,
    kind: &str,
) -> anyhow::Result<()> {
    if s3_uri(uri).is_some() {
        return put(&s3_of(session), uri, body, kind).await;
    }
    write_local(uri, body)
}

fn write_local(dest: &str, body: String) -> anyhow::Result<()> {
    if let Some(dir) = std::path::Path::new(dest)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    }
    std::fs::write(dest, body).with_context(|| format!("cannot write {dest}"))
}

/// Puts `body` at `s3://bucket/key` (a key, not a prefix ending in `/`).
pub async fn put(
    s3: &aws_sdk_s3::Client,
    dest: &str,
    body: String,
    kind: &str,
) -> anyhow::Result<()> {
    match s3_uri(dest) {
        Some((bucket, key)) if !key.is_empty() && !key.ends_with('/') => {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .content_type(kind)
                .body(body.into_bytes().into())
                .send()
                .await
                .map_err(baseline::error::aws_err("s3:PutObject"))
                .with_context(|| format!("cannot write {dest}"))?;
            Ok(())
        }
        _ => anyhow::bail!("{dest}: expected s3://bucket/key"),
    }
}

fn parse(source: String, bytes: &[u8]) -> anyhow::Result<Source> {
    let report = serde_json::from_slice(bytes).with_context(|| format!("{source}: not JSON"))?;
    Ok(Source { source, report })
}

fn local_files(path: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot read {}", path.display()))?;
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() || p.extension().is_some_and(|x| x == "json") {
                local_files(&p, out)?;
            }
        }
    } else {
        out.push(path.to_owned());
    }
    Ok(())
}

async fn read_sources(lazy: &mut Lazy<'_>, args: &MergeArgs) -> anyhow::Result<Vec<Source>> {
    let mut sources = Vec::new();
    for given in &args.sources {
        if let Some((bucket, prefix)) = s3_uri(given) {
            let s3 = lazy.s3().await?;
            let mut keys: Vec<String> = Vec::new();
            let mut pages = s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page
                    .map_err(baseline::error::aws_err("s3:ListBucket"))
                    .with_context(|| format!("cannot list {given}"))?;
                keys.extend(
                    page.contents()
                        .iter()
                        .filter_map(|o| o.key())
                        .filter(|k| k.ends_with(".json"))
                        .map(str::to_owned),
                );
            }
            for key in keys {
                let bytes = get(&s3, bucket, &key).await?;
                sources.push(parse(format!("s3://{bucket}/{key}"), &bytes)?);
            }
        } else {
            let mut files = Vec::new();
            local_files(std::path::Path::new(given), &mut files)?;
            for f in files {
                let bytes =
                    std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?;
                sources.push(parse(f.display().to_string(), &bytes)?);
            }
        }
    }
    // A merged report among the sources (last week's, in the same prefix) is not a shard.
    sources.retain(|s| {
        let merged = merge::is_merged(&s.report);
        if merged {
            tracing::warn!("{}: a merged report, left out", s.source);
        }
        !merged
    });
    Ok(sources)
}

/// [`read_uri`], connecting only for S3.
async fn read(lazy: &mut Lazy<'_>, uri: &str) -> anyhow::Result<Vec<u8>> {
    let s3 = match s3_uri(uri) {
        Some(_) => Some(lazy.s3().await?),
        None => None,
    };
    read_with(s3.as_ref(), uri).await
}

async fn write(lazy: &mut Lazy<'_>, dest: &str, body: String, kind: &str) -> anyhow::Result<()> {
    if s3_uri(dest).is_some() {
        return put(&lazy.s3().await?, dest, body, kind).await;
    }
    write_local(dest, body)
}

pub async fn merge(g: &cli::Global, args: &MergeArgs) -> anyhow::Result<u8> {
    let mut lazy = Lazy { g, session: None };
    let previous = match &args.previous {
        None => None,
        Some(p) => {
            let bytes = match s3_uri(p) {
                Some((bucket, key)) => {
                    let s3 = lazy.s3().await?;
                    // The first week has no previous report: that is not an error.
                    let head = s3.head_object().bucket(bucket).key(key).send().await;
                    match head {
                        Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => None,
                        _ => Some(get(&s3, bucket, key).await?),
                    }
                }
                None if !std::path::Path::new(p).exists() => None,
                None => Some(std::fs::read(p).with_context(|| format!("cannot read {p}"))?),
            };
            match bytes {
                None => {
                    tracing::warn!("{p}: no previous report yet; no drift is shown");
                    None
                }
                Some(bytes) => Some(
                    serde_json::from_slice::<serde_json::Value>(&bytes)
                        .with_context(|| format!("{p}: not JSON"))?,
                ),
            }
        }
    };
    let mut expected = Vec::new();
    if let Some(manifest) = &args.expect {
        let bytes = read(&mut lazy, manifest).await?;
        let items: Vec<serde_json::Value> = serde_json::from_slice(&bytes)
            .with_context(|| format!("{manifest}: not the JSON array of shards.json"))?;
        for item in &items {
            let Some(file) = item["account_file"].as_str() else {
                anyhow::bail!("{manifest}: an item without \"account_file\": {item}");
            };
            let text = read(&mut lazy, file).await?;
            expected.extend(super::read_account_file(
                file,
                &String::from_utf8_lossy(&text),
            )?);
        }
    }
    let sources = read_sources(&mut lazy, args).await?;
    let merged = merge::merge_expecting(sources, previous.as_ref(), &expected)?;
    let json = serde_json::to_string_pretty(&merged).expect("JSON always serializes") + "\n";
    for dest in &args.report {
        write(&mut lazy, dest, json.clone(), "application/json").await?;
    }
    for dest in &args.report_html {
        let (plan, results) = merge::plan_of(&merged);
        let applied = merged["command"] == "apply";
        let page = baseline::html::page(
            &plan,
            applied.then_some(results.as_slice()),
            &baseline::report::now(),
        );
        write(&mut lazy, dest, page, "text/html; charset=utf-8").await?;
    }
    match g.output {
        Output::Json => {
            super::print_out(serde_json::to_string_pretty(&merged).expect("JSON always serializes"))
        }
        _ => print!("{}", merge::summary(&merged)),
    }
    // The merged run's exit code: 1 when any shard failed.
    Ok(merged["exit_code"].as_u64().map_or(1, |c| u8::from(c == 1)))
}
