//! Redis: short-lived, high-rate records (challenges, one-time codes, throttle counters).
//!
//! [`RedisStore`] implements [`AsyncStore`] over one multiplexed, reconnecting connection
//! ([`redis::aio::ConnectionManager`]); wrap it in [`Blocking`](crate::blocking::Blocking) where a
//! blocking [`Store`](mfa_core::Store) is wanted.
//!
//! # Layout
//! Every key starts with the store's prefix (one per tenant, default `mfa:`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}r:{kind}/{account}/{id}` | hash | `v` version, `d` value, `e` expiry (ms, empty: never) |
//! | `{prefix}l:{kind}/{account}/` | set | the account's records of that kind (for `list`) |
//! | `{prefix}i:{kind}//{id}` | set | every account's record of that kind and id (for `find_by_id`) |
//! | `{prefix}version` | string | the last version given |
//!
//! (parts are escaped as in [`RecordKey::flat`]). Compare-and-swap, listing and lookup are Lua
//! scripts, so each is atomic on the server and the indexes never disagree with the records.
//!
//! # Versions
//! A new version is `max(last + 1, the server's time in µs)`: unique while the server runs, and
//! still never given twice after a restart that lost the last writes (the counter may roll back,
//! but the server's clock has moved on by more than the writes it lost).
//!
//! # Expiry
//! A record's expiry is judged by the store's [`Clock`] inside the scripts (so a
//! [`ManualClock`](mfa_core::ManualClock) moves it in tests). Redis's own TTLs only collect the
//! garbage: a record with an expiry gets a TTL of its remaining lifetime plus a second, and the
//! index sets live as long as their longest-lived member; entries whose record is gone are
//! dropped when they are next listed.
//!
//! # Durability
//! Redis acknowledges a write before it is on disk: with the usual `appendfsync everysec` it may
//! lose the last second of writes in a crash, and with snapshots only, minutes. Keep enrolled
//! credentials in SQL ([`PostgresStore`](crate::postgres::PostgresStore) or SQLite) and use Redis
//! for state whose loss only means asking again. A standalone server (or a primary with replicas)
//! is supported; Redis Cluster is not (the scripts reach keys they are not handed).

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use mfa_core::{
    AsyncStore, Clock, NewRecord, RecordKey, StoreError, StoredRecord, SwapOutcome, SystemClock,
    UnixTime, Version, is_live,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use zeroize::Zeroizing;

/// How long a record outlives its expiry in Redis before the server deletes it: a margin so that
/// a server whose clock runs a little ahead never deletes a record the store still reads as live.
const EXPIRY_GRACE: Duration = Duration::from_secs(1);

/// The longest TTL given to Redis (2^50 ms, 35 000 years): a later expiry is kept as a record
/// field and checked as any other, only its garbage collection waits this long. (Redis refuses
/// TTLs past its own limits, and Lua's numbers are exact to 2^53 only.)
const MAX_TTL_MS: u64 = 1 << 50;

/// Compare-and-swap of one record and its two index entries.
///
/// KEYS: record, version counter, list index, find index.
/// ARGV: expected version (empty: absent), `put` or `del`, value, expiry ms (empty: never),
/// now ms, TTL ms (with an expiry), index member (the record's flat key).
/// Returns the new version as a string, or nil on a conflict.
const SWAP: &str = r"
local function index(set, member, ttl)
  local existed = redis.call('EXISTS', set) == 1
  redis.call('SADD', set, member)
  if ttl < 0 then
    redis.call('PERSIST', set)
  elseif not existed then
    redis.call('PEXPIRE', set, ttl)
  else
    local left = redis.call('PTTL', set)
    if left >= 0 and left < ttl then
      redis.call('PEXPIRE', set, ttl)
    end
  end
end

local current = redis.call('HMGET', KEYS[1], 'v', 'e')
local version = current[1]
if version and current[2] and current[2] ~= '' and tonumber(current[2]) <= tonumber(ARGV[5]) then
  version = false
end
if (version or '') ~= ARGV[1] then
  return false
end

local time = redis.call('TIME')
local floor = tonumber(time[1]) * 1000000 + tonumber(time[2])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if floor > last then
  redis.call('SET', KEYS[2], string.format('%.0f', floor))
end
local next = string.format('%.0f', redis.call('INCR', KEYS[2]))

if ARGV[2] == 'put' then
  redis.call('HSET', KEYS[1], 'v', next, 'd', ARGV[3], 'e', ARGV[4])
  local ttl = -1
  if ARGV[4] ~= '' then
    ttl = tonumber(ARGV[6])
    redis.call('PEXPIRE', KEYS[1], ttl)
  else
    redis.call('PERSIST', KEYS[1])
  end
  index(KEYS[3], ARGV[7], ttl)
  index(KEYS[4], ARGV[7], ttl)
else
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[3], ARGV[7])
  redis.call('SREM', KEYS[4], ARGV[7])
end
return next
";

/// The live records an index set names, dropping members whose record is gone.
///
/// KEYS: the index set. ARGV: record key prefix, now ms, `values` to return values too.
/// Returns a flat array: member, version, value (empty unless asked), expiry, member, …
const SCAN_INDEX: &str = r"
local out = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local record = redis.call('HMGET', ARGV[1] .. member, 'v', 'd', 'e')
  if not record[1] then
    redis.call('SREM', KEYS[1], member)
  elseif record[3] == '' or tonumber(record[3]) > tonumber(ARGV[2]) then
    table.insert(out, member)
    table.insert(out, record[1])
    if ARGV[3] == 'values' then
      table.insert(out, record[2])
    else
      table.insert(out, '')
    end
    table.insert(out, record[3])
  end
end
return out
";

/// How a [`RedisStore`] connects and which keys it uses.
#[derive(Clone, Debug)]
pub struct RedisOptions {
    prefix: String,
    timeout: Duration,
    connect_retries: usize,
    clock: Arc<dyn Clock>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "mfa:".to_owned(),
            timeout: Duration::from_secs(5),
            connect_retries: 6,
            clock: Arc::new(SystemClock),
        }
    }
}

impl RedisOptions {
    /// The start of every key the store uses (default `mfa:`): one per tenant (`mfa:acme:`), or
    /// per test run. Stores with different prefixes never see each other's records.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long to wait for a connection or a reply before failing with
    /// [`StoreError::Unavailable`] (default 5 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times a failed connection attempt is tried again, with growing pauses of at
    /// most a second (default 6): when connecting, and whenever the connection is lost later. A
    /// command-line tool that should fail fast takes 0.
    #[must_use]
    pub fn connect_retries(mut self, retries: usize) -> Self {
        self.connect_retries = retries;
        self
    }

    /// The clock that judges expiry (default [`SystemClock`]; a
    /// [`ManualClock`](mfa_core::ManualClock) in tests).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

/// A store in Redis; see the [module docs](self) for the layout, expiry and durability.
///
/// Cheap to clone: clones share one multiplexed connection, which pipelines concurrent calls.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
    clock: Arc<dyn Clock>,
    swap: Arc<Script>,
    scan_index: Arc<Script>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the server at `url` (`redis://[:password@]host[:port][/db]`) with default
    /// options (prefix `mfa:`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Connects as [`connect`](Self::connect) does, with `options`.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(options.connect_retries)
            .set_max_delay(Duration::from_secs(1))
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout));
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            connection,
            prefix: Arc::from(options.prefix),
            clock: options.clock,
            swap: Arc::new(Script::new(SWAP)),
            scan_index: Arc::new(Script::new(SCAN_INDEX)),
        })
    }

    /// The prefix of every key this store uses.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn record_key(&self, flat: &str) -> String {
        format!("{}r:{flat}", self.prefix)
    }

    fn list_index(&self, kind: &str, account: &str) -> String {
        format!(
            "{}l:{}",
            self.prefix,
            RecordKey::new(kind, account, "").flat()
        )
    }

    fn find_index(&self, kind: &str, id: &str) -> String {
        format!("{}i:{}", self.prefix, RecordKey::new(kind, "", id).flat())
    }

    /// The live records named by one index set, in key order (values left empty unless asked for).
    async fn scan_index(
        &self,
        index: String,
        with_values: bool,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        let mut connection = self.connection.clone();
        let reply: Vec<Vec<u8>> = self
            .scan_index
            .key(&index)
            .arg(format!("{}r:", self.prefix))
            .arg(self.clock.now().as_millis())
            .arg(if with_values { "values" } else { "keys" })
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        let mut records = Vec::with_capacity(reply.len() / 4);
        let mut fields = reply.into_iter();
        while let Some(member) = fields.next() {
            let corrupt = |reason: &str| StoreError::Corrupt {
                key: format!("{index} member {}", String::from_utf8_lossy(&member)),
                reason: reason.to_owned(),
            };
            let (Some(version), Some(value), Some(expiry)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(corrupt("short reply from the index script"));
            };
            let key = core::str::from_utf8(&member)
                .ok()
                .and_then(unflat)
                .ok_or_else(|| corrupt("index member is not a record key"))?;
            let version = core::str::from_utf8(&version)
                .map_err(|_| corrupt("version is not text"))
                .and_then(|version| parse_version(&key, version))?;
            let expires_at = parse_expiry(&key, &expiry)?;
            let record = StoredRecord {
                version,
                value: Zeroizing::new(value),
                expires_at,
            };
            records.push((key, record));
        }
        records.sort_by(|(a, _), (b, _)| a.cmp(b));
        Ok(records)
    }
}

impl AsyncStore for RedisStore {
    async fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        let mut connection = self.connection.clone();
        let (version, value, expiry): (Option<String>, Option<Vec<u8>>, Option<Vec<u8>>) =
            redis::cmd("HMGET")
                .arg(self.record_key(&key.flat()))
                .arg("v")
                .arg("d")
                .arg("e")
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
        let (Some(version), Some(value)) = (version, value) else {
            return Ok(None);
        };
        let value = Zeroizing::new(value);
        let expires_at = parse_expiry(key, expiry.as_deref().unwrap_or_default())?;
        if !is_live(expires_at, self.clock.now()) {
            return Ok(None);
        }
        Ok(Some(StoredRecord {
            version: parse_version(key, &version)?,
            value,
            expires_at,
        }))
    }

    async fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        let now = self.clock.now();
        let flat = key.flat();
        let expected = expected
            .map(|version| version.get().to_string())
            .unwrap_or_default();
        let (operation, value, expires_at) = match new {
            Some(new) => ("put", new.value, new.expires_at),
            None => ("del", &[][..], None),
        };
        let ttl = expires_at.map_or(0, |expiry| {
            let left = expiry.saturating_since(now).saturating_add(EXPIRY_GRACE);
            u64::try_from(left.as_millis()).map_or(MAX_TTL_MS, |ms| ms.min(MAX_TTL_MS))
        });
        let mut connection = self.connection.clone();
        let reply: Option<String> = self
            .swap
            .key(self.record_key(&flat))
            .key(format!("{}version", self.prefix))
            .key(self.list_index(key.kind(), key.account()))
            .key(self.find_index(key.kind(), key.id()))
            .arg(expected)
            .arg(operation)
            .arg(value)
            .arg(
                expires_at
                    .map(|expiry| expiry.as_millis().to_string())
                    .unwrap_or_default(),
            )
            .arg(now.as_millis())
            .arg(ttl)
            .arg(&flat)
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        match reply {
            None => Ok(SwapOutcome::Conflict),
            Some(version) => Ok(SwapOutcome::Committed(parse_version(key, &version)?)),
        }
    }

    async fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        self.scan_index(self.list_index(kind, account), true).await
    }

    async fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        let records = self.scan_index(self.find_index(kind, id), false).await?;
        Ok(records.into_iter().map(|(key, ..)| key).collect())
    }
}

fn parse_version(key: &RecordKey, version: &str) -> Result<Version, StoreError> {
    version
        .parse()
        .map(Version::new)
        .map_err(|_| StoreError::Corrupt {
            key: key.flat(),
            reason: format!("version {version:?} is not a number"),
        })
}

/// An expiry field: empty for never, else milliseconds since the epoch.
fn parse_expiry(key: &RecordKey, expiry: &[u8]) -> Result<Option<UnixTime>, StoreError> {
    if expiry.is_empty() {
        return Ok(None);
    }
    core::str::from_utf8(expiry)
        .ok()
        .and_then(|millis| millis.parse().ok())
        .map(|millis| Some(UnixTime::from_millis(millis)))
        .ok_or_else(|| StoreError::Corrupt {
            key: key.flat(),
            reason: "expiry is not a number".to_owned(),
        })
}

/// The key whose [`RecordKey::flat`] form is `flat`, or `None` if `flat` is not one.
fn unflat(flat: &str) -> Option<RecordKey> {
    let mut parts = flat.split('/').map(unescape);
    let (Some(kind), Some(account), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(RecordKey::new(kind?, account?, id?))
}

/// Undoes the `%25` / `%2F` escaping of one part; `None` on any other `%` sequence.
fn unescape(part: &str) -> Option<String> {
    let mut out = String::with_capacity(part.len());
    let mut rest = part;
    while let Some(at) = rest.find('%') {
        out.push_str(rest.get(..at)?);
        let escape = rest.get(at..at + 3)?;
        out.push(match escape {
            "%25" => '%',
            "%2F" => '/',
            _ => return None,
        });
        rest = rest.get(at + 3..)?;
    }
    out.push_str(rest);
    Some(out)
}

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn unflat_rejects_what_flat_never_writes() {
        for bad in ["a/b", "a/b/c/d", "a/%2/c", "a/%41/c", "a/b/%", "a/b/%2f"] {
            assert_eq!(unflat(bad), None, "{bad}");
        }
        assert_eq!(unflat("a/%25%2F/"), Some(RecordKey::new("a", "%/", "")));
    }

    proptest! {
        #[test]
        fn unflat_inverts_flat(kind in ".{0,8}", account in ".{0,8}", id in ".{0,8}") {
            let key = RecordKey::new(kind, account, id);
            prop_assert_eq!(unflat(&key.flat()), Some(key));
        }

        #[test]
        fn unflat_never_panics(flat in ".{0,24}") {
            if let Some(key) = unflat(&flat) {
                prop_assert_eq!(key.flat(), flat);
            }
        }
    }
}
