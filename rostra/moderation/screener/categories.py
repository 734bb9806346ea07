"""The screener's categories, in the order the model's columns use."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "violence",  # threats, incitement, planning or glorifying attacks
    "hate",  # attacks on people for who they are (race, religion, gender, sexuality, disability, origin)
    "harassment",  # targeted insults, dog-piling, wishing harm on a named person
    "spam",  # unsolicited promotion, scams, follow-for-follow, link farms
    "sexual",  # sexual solicitation and explicit sexual content between adults
    "sexual_minors",  # any sexualisation of minors, grooming and solicitation patterns
    "self_harm",  # suicidal ideation, self-injury intent, encouragement of it
    "private_info",  # doxxing: home addresses, phone numbers, "here is where X lives"
)
