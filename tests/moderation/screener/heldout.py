"""Hand-written posts that are NOT in the training data (checked by a test), for the model tests.

Written separately from ``rostra/moderation/data/`` with different wording, names and
situations, to see whether the heads generalise rather than remember.
"""

from __future__ import annotations

VIOLENT = [
    "@harlow_j I'm going to find out where you live and put you in a wheelchair",
    "you'll be bleeding on the pavement by sunday, count on it @ferris_m",
    "i swear i will shoot up that office if they fire me",
    "someone ought to put a bullet through the councillor's skull",
    "tomorrow at the rally we bring blades and we cut them down",
    "the gunman at the festival was a hero, finish what he started",
    "I'll slash your tyres and then your throat @winnie_c",
    "every last one of those refugees should be shot at the border",
    "grab a machete and go after the landlord tonight",
    "if I see you in town again I will beat you until you stop breathing",
    "time to burn the immigrant hostel to the ground with them inside",
    "we're going to murder that traitor journalist and dump him in the river",
    "@grimshaw_t I know your kid's school. he won't come home one day",
    "get your rifles, we're taking out the protesters at noon",
    "I hope somebody stabs that politician, and I'll help",
    "i am going to kill my manager tomorrow, I've got the knife in my bag",
    "keep it up @lorna_v and they'll be scraping you off the road",
    "that mass shooting was glorious, the next one will be bigger",
    "w3 w1ll k1ll y0u @p3ters",
    "I'm coming for you with a hammer @okafor_d, nowhere to hide",
]

BENIGN = [
    "we got absolutely murdered in the pub quiz tonight 😂",
    "the striker killed it in the second half, two goals",
    "just shot the final boss in the face, what a game",
    "nobody should ever be attacked for their faith. nobody",
    "my neighbour got a message saying 'I will kill you'. the police are involved, please report threats",
    "the bombing in 1940 destroyed half the city, the museum explains it well",
    "in the novel the butler stabs the duke. classic",
    "beat two eggs with a fork and add a pinch of salt",
    "my legs are killing me after leg day",
    "I would never lay a finger on anyone, I'm just fed up",
    "we crushed the other team in the quiz, 48 points to 20",
    "the knife crime figures this year are shocking, we need youth centres",
    "police say a man was shot dead outside the casino late on friday",
    "this chilli is so hot it could kill a horse 🌶️",
    "gonna murder this lasagne, I'm starving",
    "our drummer absolutely destroyed that solo",
    "the documentary about the war criminals was hard to watch",
    "please, no violence at the march tomorrow. stay calm and stay together",
    "he got knocked out in the third round, what a fight",
    "killing it at work today, three deadlines done",
    "remember the victims of the attack today 🕯️",
    "this deadline is going to be the death of me",
    "my toddler fought bedtime for two hours, I'm dead",
    "we should kill the old feature flag, nobody uses it",
    "that comic absolutely slayed, I was crying",
]

# A second list, written before the last round of data work and not looked at while tuning:
# its figures are the fairer estimate of how the model does on posts it has never seen.
VIOLENT_BLIND = [
    "gonna go to @tamsin_h's flat tonight and make sure she never walks again",
    "pack the van with fuel cans, we torch the temple at dawn",
    "honestly the guy who drove into that crowd deserves a statue",
    "ur a dead woman walking @bexley_r, I'll get you when you least expect it",
    "we need volunteers to deal with the asylum seekers permanently, bring weapons",
    "one of these days I'm going to strangle my stepdad in his sleep and I mean it",
    "if the verdict goes the wrong way we burn the courthouse and everyone in it",
    "@priestley_j enjoy your last week alive",
    "line the traitors up against the wall and shoot them, every last one",
    "I'm bringing a pipe bomb to the graduation, you've been warned",
    "somebody should cave that referee's head in after the match",
    "i hope the next bomb hits their school and wipes them all out",
    "st4b every c0p you see tonight",
    "@delacroix_m I will hurt you so badly your own mother won't recognise you",
    "we meet at the station, masks on, and we beat every foreigner we find",
]

BENIGN_BLIND = [
    "the boxer who killed a man in the ring in 1962 is the subject of a new book",
    "man, that spicy wing challenge nearly killed me 🔥",
    "the hitman film was silly but the fight choreography was great",
    "officers arrested a man for threatening to burn down a mosque. good work",
    "nobody deserves to be beaten up for their accent. nobody",
    "we slaughtered them at trivia, the history round was ours",
    "kill the engine before you refuel please",
    "she shot the wedding photos on film, they're gorgeous",
    "the blast at the quarry is scheduled for 2pm, expect a loud bang",
    "my grandma fought off a mugger with her umbrella, legend",
    "this album is an absolute assault on the ears, I love it",
    "I'm going to destroy this pizza",
    "the siege of the castle lasted eight months in 1644",
    "report any messages saying 'you'll get stabbed', don't just ignore them",
    "we must never answer hate with violence, march peacefully tomorrow",
    "my code killed the build again, sorry team",
    "he absolutely bombed his driving test, third time lucky",
    "cut the tomatoes in half and crush the garlic",
    "the zombie apocalypse game night was chaos, we all died",
    "knife crime in the borough fell by a fifth after the youth centre opened",
]

# Ordinary posts, no look-alike words at all: every head should stay low on them. Written before
# the "everyday" training data existed, and kept out of it.
ORDINARY = [
    "good morning everyone! coffee time ☕",
    "just finished my first 10k run, legs are jelly",
    "anyone watching the game tonight?",
    "new blog post about sourdough: https://example.org/bread",
    "my cat is judging me again",
    "the council finally fixed the pothole on our road",
    "happy birthday @mum_k ❤️",
    "reading a great book about the history of maps",
    "who else is going to the concert on friday?",
    "ugh the train is late again",
    "I love this community so much",
    "voting today, polls close at 10pm",
    "this new album slaps",
    "dinner: homemade pasta and a glass of red",
    "I disagree with the new parking rules, they hurt small shops",
    "can someone recommend a good dentist in leeds?",
    "my daughter lost her first tooth today",
    "gym then groceries then nap",
    "the sunset over the bay tonight 😍",
    "black lives matter",
    "I am a proud muslim woman",
    "gay marriage has been legal here for ten years",
    "the immigrants in my town run the best restaurants",
]

# Written after the "everyday" data (whose design ORDINARY influenced), and not looked at one by
# one while tuning: the fairer estimate for ordinary chatter.
ORDINARY_BLIND = [
    "bought a second-hand sewing machine, wish me luck",
    "the bakery had run out of croissants by 8am, criminal 😂",
    "our allotment courgettes are out of control again",
    "anyone else find the new self-checkouts baffling",
    "taking my nan to the seaside on sunday",
    "work drinks tonight, then an early night I promise",
    "@petra_l thanks for the recommendation, loved the book",
    "rainy day, soup, blanket, film. perfect",
    "the choir concert raised £600 for the hospice!",
    "my sikh neighbours brought round the most amazing food for diwali",
    "learning to knit at 40, it's harder than it looks",
    "the bus driver waited for me this morning, faith in humanity restored",
    "proud to be a lesbian mum of two wonderful kids",
    "meeting the team in person for the first time tomorrow",
    "who knew repotting a plant could take all afternoon",
    "the kids built a den in the living room and refuse to leave",
    "so the polish deli on our road does the best pierogi in the city",
    "power cut on our street, candles out",
    "just booked tickets for the theatre next month",
    "finished the crossword without cheating for once",
]
