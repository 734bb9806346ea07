"""The words of the demo community (``rostra demo``): names, places, and what people post about.

Millbrook is fictional, and so are its bands, books and football clubs; links point at
example.org. Templates name their slots in braces; ``rostra.testing.demo`` fills them.
"""

from __future__ import annotations

import random
import re
from typing import Any

FIRST = """Aaliyah Abdul Ada Adebayo Aditi Agnieszka Ahmed Aiko Alan Alejandro Amara Amir Ana Andrzej Anika
Anton Arjun Astrid Ayesha Bea Ben Bilal Bronwen Callum Camille Carlos Chen Chidi Chloe Ciaran Dan Daria Deepa
Dmitri Eamon Efua Elif Ellie Emeka Emma Farah Fatima Felix Finn Freya Gareth Grace Hamza Hana Harriet Hassan
Ibrahim Ines Isla Ivan Jack Jamal Jana Javier Jin Joanna Jonas Josh Kai Kavya Kemi Kenji Kofi Lars Laura Leila
Liam Lin Lucia Luis Maeve Magnus Maria Marek Maya Mehmet Mia Mohammed Nadia Naledi Nia Nikhil Noor Olu Omar
Oskar Priya Rachel Rafael Ravi Rhys Rosa Ruth Sam Sana Sara Seren Shreya Siobhan Sofia Soren Tariq Tom Tomasz
Una Valentina Wei Yara Yusuf Zainab Zoe""".split()  # noqa: SIM905 - a block of names reads better
LAST = """Abara Ahmed Andersen Begum Bianchi Boateng Brennan Campbell Chen Costa Davies Dubois Edwards Evans
Fernandes Fischer Garcia Gill Green Hughes Hussain Ibrahim Jansen Jones Kaur Kelly Khan Kim Kowalski Larsen Lewis
Lopez Macleod Mahmoud Martin Mensah Moreau Murphy Nakamura Nguyen Novak Nowak Obi Okafor Okonkwo O'Brien Osei
Owusu Patel Petrov Popescu Price Quinn Rahman Reyes Rossi Santos Schmidt Shah Silva Singh Sokolov Suzuki Taylor
Thomas Tran Walsh Wang Watkins Williams Wilson Wojcik Yilmaz Young Zhang""".split()  # noqa: SIM905 - as above
DISTRICTS = ["Riverside", "Old Town", "Northgate", "the Canal Quarter", "Harbourside", "Elm Park", "Southfields", "Millbrook Common"]
ORGS = [  # (username, display name, bio, main topic)
    ("millbrooklibrary", "Millbrook Library", "Books, events and free Wi-Fi in the heart of Old Town. Staffed Mon-Sat.", "books"),
    ("millbrookgazette", "The Millbrook Gazette", "Local news for Millbrook since 1887. Tips welcome.", "local"),
    ("cyclemillbrook", "Millbrook Cycling Club", "Group rides every Sunday from the market square. All paces welcome.", "cycling"),
    ("riversideplots", "Riverside Allotments", "84 plots, one very old shed, and a waiting list.", "gardening"),
    ("repaircafe_mb", "Repair Café Millbrook", "Bring it broken, take it home fixed. Last Saturday of the month.", "local"),
    ("millbrooktownfc", "Millbrook Town FC", "Official account of the Brookers. Up the Town!", "sport"),
    ("mb_votes", "Millbrook Votes", "Non-partisan info about local elections: dates, hustings, how to vote.", "elections"),
    ("thecrownlive", "Live at the Crown", "Gigs, open mics and the occasional quiz at the Crown.", "music"),
]
ROLES = ["Teacher", "Nurse", "Software developer", "Retired engineer", "Barista", "Student", "Librarian", "Carpenter",
         "Bus driver", "Designer", "Parent of two", "Paramedic", "Civil servant", "Shop owner", "Data analyst", "Chef",
         "Journalist", "Postie", "Physio", "Electrician", "PhD student", "Museum volunteer", "Accountant", "Midwife"]
PRONOUNS = ["she/her", "he/him", "they/them", "she/they", "he/they"]

TOPICS: dict[str, dict[str, Any]] = {
    "local": {
        "tags": ["Millbrook", "LocalNews", "CityCouncil", "Riverside", "SaveOurLibrary"],
        "bio": ["knows every pothole in town", "local history nerd", "litter-pick regular"],
        "emoji": "🏘️",
        "cw": ["local politics", "traffic rant"],
        "posts": [
            "The council finally approved the {project} on {place}. Work starts in {month}.",
            "Roadworks on {street} again. Took me {n} minutes to get across town.",
            "Anyone know why there were {n} fire engines outside {place} {day}?",
            "The new bakery on {street} is open! Queue was out the door at {clock}.",
            "Consultation on the {project}: drop-in at {place} on {weekday}, {clock}. Worth going. #LocalNews",
            "Lost cat near {place}: ginger, very friendly, answers to {pet}. Please share! #Millbrook",
            "Library hours are being cut from {weekday}. Write to your councillor. #SaveOurLibrary",
            "Power cut across {district} since {clock}. Anyone else?",
            "Great turnout at the {event} in {place} today. Thanks to all the volunteers {emoji}",
            "Bus {bus} cancelled AGAIN. Third time this week.",
            "The {event} is back on {weekday}! {place}, from {clock}. #Millbrook",
            "Whoever planted the daffodils along {street}: thank you, you made my week.",
        ],
        "replies": ["Which end of {street}?", "Signed and shared.", "The council meets on {weekday}, worth raising it there.",
                    "Saw that too! Hope everyone's ok.", "About time, honestly."],
    },
    "gardening": {
        "tags": ["Gardening", "Allotment", "GrowYourOwn", "Compost"],
        "bio": ["allotment plot {n}", "grows far too many courgettes", "compost enthusiast"],
        "emoji": "🌱",
        "cw": ["slug carnage"],
        "posts": [
            "First {veg} of the season from the allotment {emoji} #GrowYourOwn",
            "Slugs have eaten every single one of my {veg} seedlings. War has been declared. #Gardening",
            "Anyone got tips for growing {veg} in heavy clay?",
            "Spent the afternoon turning the compost heap. Back complaining, soul happy. #Compost",
            "Swapped {n} {veg} plants for a bag of {veg2} seeds at the seed swap. Bargain.",
            "The {flower} are out along {place} and they look amazing.",
            "Frost warning tonight, cover your {veg}! #Allotment",
            "Planted out the {veg} today. Fingers crossed for the weather {emoji}",
            "Is it too late to sow {veg}? Asking for a friend (the friend is me).",
            "My {veg} harvest this year: {n} kg. Last year: {n2}. The secret? No idea.",
            "Rain at last. The water butts are full and so is my heart. #Gardening",
        ],
        "replies": ["Try copper tape for the slugs.", "Beer traps work wonders.", "What variety are they?",
                    "Mine bolted in the heat, jealous!", "Happy to swap some {veg2} seedlings."],
    },
    "cycling": {
        "tags": ["Cycling", "BikeLife", "CycleLanes", "BikeToWork"],
        "bio": ["cycles everywhere", "has opinions about bike lanes", "owns one bike too many"],
        "emoji": "🚲",
        "cw": ["near miss", "road rage"],
        "posts": [
            "{n} km along the {route} this morning. Legs are done. #Cycling",
            "Someone parked in the cycle lane on {street} again.",
            "Puncture number {n} this month. I'm starting to take it personally. #BikeLife",
            "A year of commuting by bike: saved about £{money} and gained thighs of steel. #BikeToWork",
            "Group ride leaves {place} at {clock} on {weekday}. All paces welcome! #Cycling",
            "New {bikepart} fitted. Bike feels brand new {emoji}",
            "The segregated lane on {street} is brilliant. More of this please, council. #CycleLanes",
            "Headwind both ways. How is that even possible?",
            "Taught my kid to ride without stabilisers in {place} today {emoji}",
        ],
        "replies": ["Which route did you take?", "Chapeau!", "Report it on the council app, they do act sometimes.",
                    "Tubeless changed my life.", "See you at the ride on {weekday}!"],
    },
    "coding": {
        "tags": ["Python", "Django", "OpenSource", "WebDev", "Rust"],
        "bio": ["writes {lang} for a living", "open source maintainer", "turns coffee into bugs"],
        "emoji": "💻",
        "cw": ["work rant"],
        "posts": [
            "Spent {n} hours debugging and it was a missing comma. Classic. #Python",
            "Hot take: {hottake} #WebDev",
            "Finally shipped the {feature}. Time for a {drink}.",
            "TIL you can {til} in {lang}. Mind blown.",
            "Reviewing a PR with {n} changed files. Send help. #OpenSource",
            "Our test suite went from {n} minutes to {n2} seconds. The database was the bottleneck all along.",
            "Is anyone running {tool} in production? How's it going?",
            "Writing docs is coding too. Fight me. #OpenSource",
            "First contribution to {oss} merged today {emoji}",
            "Pairing with a junior today and learned more than they did. #Django",
        ],
        "replies": ["Been there.", "Which version?", "Have you tried turning it off and on again?",
                    "This is why I write tests first.", "Congrats on shipping!"],
    },
    "music": {
        "tags": ["NowPlaying", "Music", "Vinyl", "LiveMusic"],
        "bio": ["plays bass badly", "vinyl hoarder", "gig photographer"],
        "emoji": "🎶",
        "cw": [],
        "posts": [
            "Now playing: {album} by {artist} #NowPlaying",
            "Saw {artist} at {venue} last night. Still buzzing {emoji} #LiveMusic",
            "Found {album} at the charity shop for £{money}. #Vinyl",
            "Band practice tonight. We're learning {song}, wish us luck.",
            "Unpopular opinion: {artist}'s second album is better than the first.",
            "What's everyone listening to this week? I've had {artist} on repeat. #Music",
            "Open mic at {venue} on {weekday}. Bringing my ukulele, you've been warned.",
        ],
        "replies": ["Great album.", "I was there too!", "Adding it to my list.", "Their live show is something else.",
                    "Which track first?"],
    },
    "cooking": {
        "tags": ["Cooking", "Baking", "Sourdough", "MealPrep"],
        "bio": ["bakes bread on weekends", "home cook", "recipe hoarder"],
        "emoji": "🍲",
        "cw": ["food pic", "food"],
        "posts": [
            "Made {dish} tonight. {verdict} #Cooking",
            "Sourdough attempt number {n}: {verdict} #Sourdough",
            "What do I do with {n} kg of {veg}? Recipes welcome.",
            "Sunday lunch for {n} people. The kitchen looks like a bomb site.",
            "The secret to good {dish} is patience. And butter. Mostly butter.",
            "Batch-cooked {dish} for the week. Future me says thanks. #MealPrep",
            "Tried the {dish} at {cafe}. Honestly better than mine.",
            "Baked {bake} for the school fair. {verdict} #Baking",
        ],
        "replies": ["Recipe please!", "Looks delicious.", "Add a pinch of smoked paprika next time.",
                    "{cafe} does a great one too.", "Ooh, saving this."],
    },
    "elections": {
        "tags": ["Elections", "Vote", "LocalElections", "Democracy"],
        "bio": ["local democracy nerd", "polling station volunteer"],
        "emoji": "🗳️",
        "cw": ["politics", "election talk", "election results"],
        "posts": [
            "Polling stations open at 7am on {weekday}. Don't forget your photo ID. #Vote",
            "Hustings at {place} tonight: {n} candidates, one microphone, no air conditioning. #LocalElections",
            "Turnout in {district} was {pct}% last time. We can do better. #Vote",
            "Read every leaflet so you don't have to. Summary: everyone wants the potholes fixed. #LocalElections",
            "Volunteering as a teller on election day. Bringing snacks. #Democracy",
            "Postal vote deadline is {weekday}! #Elections",
            "Whatever your politics, please vote. It matters more locally than you think.",
            "The count for {district} went to a recount. {n} votes in it!",
        ],
        "replies": ["Thanks for the reminder.", "Where's the polling station for {district}?", "Registered!",
                    "Fascinating, thanks for sharing.", "Every vote counts."],
    },
    "sport": {
        "tags": ["Football", "Running", "Parkrun", "Cricket"],
        "bio": ["season ticket holder", "parkrun regular", "Sunday league goalkeeper"],
        "emoji": "⚽",
        "cw": ["match spoilers"],
        "posts": [
            "{team} {g1}-{g2} {team2}. What a match! #Football",
            "Parkrun PB this morning: {mins}:{secs} {emoji} #Parkrun",
            "Sunday league: we lost {g1}-{g2}, but the oranges at half time were excellent.",
            "Anyone up for five-a-side at {place} on {weekday}?",
            "Cricket season is back at {place}. Bring a flask. #Cricket",
            "Watching the match at {venue}. The ref is having a shocker. #Football",
            "Ran {n} km along the {route}. Knees have filed a complaint. #Running",
        ],
        "replies": ["Up the Town!", "What a goal that was.", "Great time!", "Count me in.", "The ref was shocking."],
    },
    "books": {
        "tags": ["Books", "Reading", "BookClub"],
        "bio": ["always reading", "book club host", "library card is my most used card"],
        "emoji": "📚",
        "cw": ["book spoilers"],
        "posts": [
            "Just finished {book}. {bookverdict} #Books",
            "Book club picked {book} for next month. Anyone read it? #BookClub",
            "Currently reading {n} books at once and finishing none of them. #Reading",
            "The library had {book} on the returns shelf. Fate. #Reading",
            "Recommend me something like {book}, please.",
        ],
        "replies": ["Loved that one.", "Try {book}!", "It's on my list.", "The ending though!", "Added to my pile."],
    },
    "pets": {
        "tags": ["Caturday", "DogsOfRostra", "Pets"],
        "bio": ["cat person", "dog walker", "owned by two cats"],
        "emoji": "🐾",
        "cw": ["vet visit"],
        "posts": [
            "{pet} has discovered the radiator and will not be moving until spring. #Caturday",
            "Took {pet} to the vet. {n} treats later, all is forgiven. #DogsOfRostra",
            "{pet} met a swan at {place} today. The swan won.",
            "Who else's dog refuses to walk in the rain? {pet} just sat down. #DogsOfRostra",
        ],
        "replies": ["Give {pet} a scratch from me.", "Adorable.", "Swans are terrifying, fair play.", "So cute!"],
    },
}
WORDS: dict[str, list[str]] = {
    "place": ["the high street", "Riverside Park", "the canal towpath", "the market square", "the library",
              "the community centre", "Millbrook Common", "the station", "the rec", "the harbour wall"],
    "street": ["Station Road", "Elm Street", "Mill Lane", "the Broadway", "Church Street", "Canal Street", "Victoria Road"],
    "district": DISTRICTS,
    "project": ["new cycle lane", "skate park", "library extension", "pedestrian crossing", "riverside flats",
                "market hall refurbishment", "20mph zone", "community garden"],
    "event": ["street party", "litter pick", "farmers' market", "repair café", "open mic night", "car boot sale", "river clean-up"],
    "month": ["March", "April", "June", "September", "October", "the new year"],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "day": ["this morning", "last night", "yesterday", "earlier", "at lunchtime"],
    "clock": ["7am", "half eight", "10:30", "noon", "2pm", "6pm", "7:30pm"],
    "bus": ["7", "12", "42", "X3", "18A"],
    "pet": ["Biscuit", "Luna", "Pickle", "Mr Whiskers", "Pepper", "Nala", "Bramble", "Toast"],
    "veg": ["tomatoes", "courgettes", "runner beans", "potatoes", "garlic", "kale", "leeks", "beetroot", "chillies", "squash"],
    "veg2": ["pumpkin", "broad bean", "chard", "pea", "radish", "sweetcorn"],
    "flower": ["daffodils", "bluebells", "sweet peas", "dahlias", "sunflowers", "cherry blossoms"],
    "route": ["canal towpath", "river loop", "old railway line", "ridge road", "coast path"],
    "bikepart": ["chain", "saddle", "set of brake pads", "rear cassette", "pair of tyres", "dynamo light"],
    "lang": ["Python", "Rust", "Go", "TypeScript", "SQL", "Elixir", "Kotlin"],
    "hottake": ["most apps would be fine on SQLite", "code review is for learning, not gatekeeping",
                "boring technology is a feature", "microservices were a mistake for most teams", "tabs are fine, actually"],
    "feature": ["dark mode", "export button", "search page", "new onboarding flow", "accessibility fixes", "offline mode"],
    "drink": ["cup of tea", "coffee", "pint", "nap"],
    "til": ["unpack a dict into keyword arguments", "name a regex group", "write a window function", "pattern-match on a tuple"],
    "tool": ["Postgres 16", "SQLite in WAL mode", "Redis streams", "a Raspberry Pi cluster"],
    "oss": ["a Django package", "the town's bin-day app", "a Rust crate", "a screen reader plugin"],
    "artist": ["The Lantern Club", "Maya Okafor", "Static Orchard", "Fern & the Foxes", "Jonas Vale", "Low Tide Radio",
               "Kestrel", "The Paper Moons", "Ibrahim Quartet", "Saltmarsh"],
    "album": ["Northern Lights", "Paper Houses", "Slow River", "Tuesday Static", "Glasshouse", "Harbour Songs", "Quiet Engines"],
    "song": ["'Wonderwall', ironically", "a sea shanty", "'Harbour Song'", "something in 7/8"],
    "venue": ["the Crown", "the Old Mill", "the Corn Exchange", "the Boathouse", "the bandstand"],
    "dish": ["lentil dal", "shakshuka", "mushroom risotto", "chilli", "pad thai", "leek and potato soup", "focaccia",
             "jollof rice", "pierogi", "a lamb tagine", "katsu curry"],
    "bake": ["banana bread", "lemon drizzle", "flapjacks", "cinnamon buns", "a Victoria sponge"],
    "verdict": ["Nailed it.", "Edible. Just.", "The family asked for seconds!", "Too much salt, again.", "Best one yet 😋",
                "Not my finest work."],
    "cafe": ["Rosie's Café", "the Mill Kitchen", "Café Nour", "the market stall by the station"],
    "team": ["Millbrook Town", "Northgate Rovers", "Riverside Athletic", "Harbour United"],
    "team2": ["Old Town FC", "Southfields Wanderers", "Canal Street Celtic"],
    "book": ["The Salt Road", "A House of Small Weathers", "Nine Bridges", "The Cartographer's Daughter", "Winter Orchard",
             "Signals in the Fog"],
    "bookverdict": ["Absolutely loved it.", "Slow start, brilliant ending.", "Not for me, sadly.", "I cried on the bus.",
                    "Five stars, no notes."],
}
REPLIES = ["Totally agree!", "Ha, same here.", "Oh no! Hope it gets sorted.", "Do you have a link?", "Brilliant, thanks for sharing.",
           "Congrats! 🎉", "Where was this?", "I had no idea, thanks.", "Not sure I agree, but fair point.", "Count me in!",
           "Any recommendations?", "Seconded.", "That's wild.", "Love this 💚", "Same thing happened to me last week.",
           "Good luck!", "Ooh, tell me more.", "What time?", "Brilliant news.", "Sending good vibes."]
QUOTE_INTROS = ["This 👇", "Worth a read.", "Exactly this.", "Important, please share:", "Ha!", "Signal boosting.", "So much this."]
DIRECT_MESSAGES = ["are we still on for {weekday}?", "thanks for the help at {place} yesterday!", "can you send me that recipe for {dish}?",
          "happy birthday!! 🎂", "are you going to the {event}?", "I've got your {bikepart}, will drop it round."]
PERSONAL = ["Rough week. Logging off for a bit, see you all soon.", "Small win today: finally fixed the leaky tap.",
            "Anyone else awake at this hour?", "Grateful for this little corner of the internet. 💚", "Moving house on {weekday}. Send snacks."]
HOURS = [1, 1, 1, 1, 1, 2, 4, 8, 10, 9, 8, 9, 11, 10, 8, 8, 9, 10, 12, 13, 13, 11, 7, 3]  # posts by hour of day


# --- Filling the templates (no Django here: the benchmark's load generator uses this too) ----------


class Slots(dict[str, str]):
    """Template slots filled at random; one value per slot per text, so a sentence agrees with itself."""

    def __init__(self, rng: random.Random, **fixed: str) -> None:
        super().__init__(fixed)
        self.rng = rng

    def __missing__(self, key: str) -> str:
        r = self.rng
        numbers = {"n": (2, 40), "n2": (2, 40), "money": (3, 400), "pct": (18, 46), "g1": (0, 4), "g2": (0, 4), "mins": (19, 34)}
        if key in numbers:
            value = str(r.randint(*numbers[key]))
        elif key == "secs":
            value = f"{r.randint(0, 59):02d}"
        elif key == "emoji":
            value = r.choice(["🌱", "☕", "🎉", "😅", "🙌", "💚", "☀️", "🌧️", ""])
        else:
            value = r.choice(WORDS[key])
        self[key] = value
        return value


def fill(template: str, slots: Slots) -> str:
    text = re.sub(r"\s{2,}", " ", template.format_map(slots)).strip()  # an empty emoji leaves no gap
    # A slot that opens a sentence ("the station, from 7pm") starts it with a capital.
    return re.sub(r"(^|[.!?] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def sample_post_text(rng: random.Random) -> str:
    """A post written as the demo community writes: two of its template sentences, on two topics,
    their slots filled. What the benchmark's load generator posts, so its load reads like people's.
    Two, because a few hundred templates are few: posted by the thousand, one-sentence posts repeat
    enough for the spam-wave rule (near-duplicates from several accounts within the hour) to hold
    about half of them; two sentences repeat about once in 2,000 posts."""
    first, second = rng.sample(sorted(TOPICS), 2)
    text = f"{fill(rng.choice(TOPICS[first]['posts']), Slots(rng))} {fill(rng.choice(TOPICS[second]['posts']), Slots(rng))}"
    if "#" not in text and rng.random() < 0.3:
        text += f" #{rng.choice(TOPICS[first]['tags'])}"
    return text
