//! The whole exchange: enroll, start, answer on the phone, verify, and the sign-in page's side.

mod common;

use common::{NOW, enroll, policy, rng};
use mfa_core::{AttemptError, MemoryStore};
use mfa_push::{
    Answer, ChallengeRequest, EventLog, PushError, PushEvent, PushOutcome, PushPayload,
    start_challenge, take_outcome, verify_response,
};

#[test]
fn approve_with_the_number_shown() {
    let store = MemoryStore::new();
    let policy = policy();
    let mut rng = rng(1);
    let (phone, device) = enroll(&store, &policy, "alice", &mut rng);
    let events = EventLog::new();
    let request = ChallengeRequest::new("alice", "sign-in-1");
    let started = start_challenge(&store, &policy, &request, NOW, &mut rng, &events).unwrap();
    let [push] = started.pushes.as_slice() else {
        panic!("one device, one push")
    };
    let payload = PushPayload::from_json(&push.payload.to_json()).unwrap();
    assert_eq!(
        (&payload.handle, &payload.challenge),
        (&device.device_id, &started.id)
    );

    let answer = Answer::approve(started.number.expose_digits()).unwrap();
    let response = phone.respond(&payload.challenge, &answer, NOW).unwrap();
    let phone_side = verify_response(&store, &policy, &response, NOW, &events).unwrap();
    assert!(phone_side.evidence().properties.number_match_meets_rev4);

    let outcome = take_outcome(&store, "alice", &started.id, "sign-in-1", NOW).unwrap();
    let PushOutcome::Approved(verified) = outcome else {
        panic!("approved")
    };
    assert_eq!(verified.evidence(), phone_side.evidence());
    assert_eq!(verified.credential().device_id, device.device_id);
    // Taken once.
    assert!(matches!(
        take_outcome(&store, "alice", &started.id, "sign-in-1", NOW),
        Err(AttemptError::ChallengeNotFound)
    ));
    // The same response again: the challenge is gone.
    assert!(matches!(
        verify_response(&store, &policy, &response, NOW, &events),
        Err(AttemptError::ChallengeNotFound)
    ));
    assert!(events.take().is_empty());
    let _ = PushError::Denied;
    let _ = PushEvent::Superseded {
        account: String::new(),
        challenge: started.id.clone(),
        by: started.id,
    };
}
