// The SMS transport (SPEC §8): phone numbers as XMPP contacts ("+15551234567@domain"),
// through an HTTP provider API (Twilio, Telnyx), with webhooks on the [http] listener.
//
// Routes (added at construction; DELIVERY.md has the formats):
//   POST {webhook}          inbound SMS/MMS        -> 200 once stored durably (Twilio: TwiML <Response/>)
//   POST {webhook}/status   delivery reports       -> 200; status callbacks carry ?ref=<our ref>
// Bad or missing signature: 403; a number nobody owns: 404; not stored: 500.
//
// Users: a number's config `owner`, or the user who claimed a pool number by
// registering (field "phone"). A message to "+1555…@domain" goes out from the
// user's first number; "+1555…@domain/+15550002222" picks another of theirs.
// Durability: outbox.hpp (XMPP -> SMS) and inbox.hpp (SMS -> XMPP).
// Threading: the io thread; curl runs on HttpClient's worker.
#pragma once
#include "transports/api/factory.hpp"

namespace sb::transport::sms {
FactoryEntry factory();
}
