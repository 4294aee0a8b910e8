"""What the assistant says, in English and French, and how it reads short answers.

The words a triage nurse would use on the phone: short sentences that read well aloud, one
question at a time. Every fixed sentence lives here so the tts service can synthesise them ahead
of time (`fixed_prompts`) and they play at once. Urdu conversations use English for now.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

__all__ = [
    "Language",
    "Reply",
    "fixed_prompts",
    "ordinal_choice",
    "read_yes_no",
    "say",
    "spoken_time",
]

Language = Literal["en", "fr"]

TEXTS: Final[dict[str, dict[Language, str]]] = {
    "greeting": {
        "en": "Hello, I am the VoiceAssist triage assistant. I am not a doctor, and this is not "
        "a diagnosis. If your life may be in danger, call 112 or 911 now. I will ask a few "
        "questions to see how soon you should be seen, and I can book an appointment. Shall we "
        "start?",
        "fr": "Bonjour, je suis l'assistant d'orientation de VoiceAssist. Je ne suis pas "
        "médecin et ceci n'est pas un diagnostic. Si votre vie est peut-être en danger, appelez "
        "le 15 ou le 112 maintenant. Je vais vous poser quelques questions pour savoir dans quel "
        "délai consulter, et je peux prendre rendez-vous. On commence ?",
    },
    "consent_again": {
        "en": "Please say yes if I may go on, or no if you would rather not.",
        "fr": "Dites oui si je peux continuer, ou non si vous préférez arrêter.",
    },
    "consent_refused": {
        "en": "All right, I will stop here. If you feel very unwell, call 112 or 911.",
        "fr": "D'accord, je m'arrête ici. Si vous vous sentez très mal, appelez le 15 ou le 112.",
    },
    "ask_complaint": {
        "en": "Thank you. In your own words, what is bothering you today?",
        "fr": "Merci. Avec vos mots, qu'est-ce qui ne va pas aujourd'hui ?",
    },
    "complaint_again": {
        "en": "I did not catch a symptom there. Could you tell me what you feel, for example "
        "a pain, a fever or a cough?",
        "fr": "Je n'ai pas reconnu de symptôme. Pouvez-vous me dire ce que vous ressentez, par "
        "exemple une douleur, de la fièvre ou une toux ?",
    },
    "ask_age": {
        "en": "How old are you?",
        "fr": "Quel âge avez-vous ?",
    },
    "ask_sex": {
        "en": "Are you a man or a woman?",
        "fr": "Êtes-vous un homme ou une femme ?",
    },
    "answer_again": {
        "en": "Sorry, I did not understand. ",
        "fr": "Pardon, je n'ai pas compris. ",
    },
    "advice_intro": {
        "en": "Thank you for your answers.",
        "fr": "Merci pour vos réponses.",
    },
    "reasons": {
        "en": "This is because of: {reasons}.",
        "fr": "C'est à cause de : {reasons}.",
    },
    "ask_city": {
        "en": "I can book you an appointment. In which city would you like to be seen?",
        "fr": "Je peux vous prendre un rendez-vous. Dans quelle ville souhaitez-vous consulter ?",
    },
    "offer_self_care": {
        "en": "Would you still like an appointment with a doctor?",
        "fr": "Souhaitez-vous tout de même un rendez-vous avec un médecin ?",
    },
    "offer": {
        "en": "{name} at {practice} can see you {times}. Which would you like?",
        "fr": "{name}, {practice}, peut vous recevoir {times}. Lequel préférez-vous ?",
    },
    "offer_pick_again": {
        "en": "Which one would you like? You can say the first one, the second one, or another "
        "time, like tomorrow afternoon.",
        "fr": "Lequel souhaitez-vous ? Vous pouvez dire le premier, le deuxième, ou un autre "
        "moment, comme demain après-midi.",
    },
    "slot_gone": {
        "en": "Sorry, that time was just taken. Here are the next ones.",
        "fr": "Désolé, ce créneau vient d'être pris. Voici les suivants.",
    },
    "confirmed": {
        "en": "You are booked with {name} at {practice}, {time}. You will find it under my "
        "appointments. Goodbye, and take care.",
        "fr": "C'est réservé avec {name}, {practice}, {time}. Vous le retrouverez dans mes "
        "rendez-vous. Au revoir, et prenez soin de vous.",
    },
    "no_booking": {
        "en": "Goodbye, and take care.",
        "fr": "Au revoir, et prenez soin de vous.",
    },
    "emergency_end": {
        "en": "Please do that now. I will not book an appointment: this cannot wait.",
        "fr": "Faites-le maintenant. Je ne prends pas de rendez-vous : cela ne peut pas attendre.",
    },
    "or": {"en": " or ", "fr": " ou "},
    "yes": {"en": "Yes", "fr": "Oui"},
    "no": {"en": "No", "fr": "Non"},
    "dont_know": {"en": "I don't know", "fr": "Je ne sais pas"},
    "man": {"en": "A man", "fr": "Un homme"},
    "woman": {"en": "A woman", "fr": "Une femme"},
}


def say(key: str, language: Language, **values: str) -> str:
    """Return the sentence ``key`` in ``language`` with ``values`` filled in."""
    return TEXTS[key][language].format(**values)


def fixed_prompts() -> list[tuple[Language, str]]:
    """Every sentence that never changes, for the tts service to synthesise ahead of time."""
    return [
        (language, text[language])
        for text in TEXTS.values()
        for language in ("en", "fr")
        if "{" not in text[language] and len(text[language]) > 3
    ]


class Reply:
    """Reads a short answer: yes, no, or neither."""

    YES: Final = "yes"
    NO: Final = "no"


_YES = {
    "en": r"\b(yes|yeah|yep|yup|sure|ok|okay|alright|all right|of course|fine|i agree|go on|"
    r"please do|that's fine|correct|right)\b",
    "fr": r"\b(oui|ouais|d'accord|daccord|ok|bien sur|absolument|allez-y|allez y|volontiers|"
    r"tout a fait|exact|c'est ca)\b",
}
_NO = {
    "en": r"\b(no|nope|nah|not really|i don't|i do not|don't|rather not|never|stop)\b",
    "fr": r"\b(non|pas vraiment|pas du tout|jamais|je ne veux pas|arretez|stop)\b",
}


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'"))
    return "".join(c for c in plain if not unicodedata.combining(c))


def read_yes_no(text: str, language: Language) -> str | None:
    """Return ``Reply.YES``, ``Reply.NO`` or None when the answer says neither (or both)."""
    folded = _fold(text)
    yes = re.search(_YES[language], folded) or re.search(_YES["en"], folded)
    no = re.search(_NO[language], folded) or re.search(_NO["en"], folded)
    if yes and not no:
        return Reply.YES
    if no and not yes:
        return Reply.NO
    return None


_ORDINALS: Final[dict[Language, list[tuple[str, int]]]] = {
    # Later positions first: "the second one" must not read as "one".
    "en": [
        (r"\b(second|2nd|two|number 2)\b", 1),
        (r"\b(third|3rd|three|number 3)\b", 2),
        (r"\b(last)\b", -1),
        (r"\b(first|1st|earliest|soonest|number one|number 1)\b|^\W*(one|1)\W*$", 0),
    ],
    "fr": [
        (r"\b(deuxieme|second|seconde|2e|deux|numero 2)\b", 1),
        (r"\b(troisieme|3e|trois|numero 3)\b", 2),
        (r"\b(dernier|derniere)\b", -1),
        (r"\b(premier|premiere|1er|le plus tot|numero un|numero 1)\b|^\W*(un|une|1)\W*$", 0),
    ],
}


def ordinal_choice(text: str, language: Language, count: int) -> int | None:
    """Return the index of the offer the patient picked by position ("the second one")."""
    folded = _fold(text)
    for pattern, index in _ORDINALS[language]:
        if re.search(pattern, folded):
            chosen = index if index >= 0 else count - 1
            return chosen if 0 <= chosen < count else None
    return None


_MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def spoken_time(start: datetime, timezone: str, language: Language, now: datetime) -> str:
    """Say when a slot is, on the practice's clock: "tomorrow at 8:30", "mardi 8 décembre à 9 h"."""
    local = start.astimezone(ZoneInfo(timezone))
    today = now.astimezone(ZoneInfo(timezone)).date()
    days = (local.date() - today).days
    if language == "fr":
        clock = f"{local.hour} h {local.minute:02d}" if local.minute else f"{local.hour} h"
        if days == 0:
            return f"aujourd'hui à {clock}"
        if days == 1:
            return f"demain à {clock}"
        day = _DAYS_FR[local.weekday()]
        return f"{day} {local.day} {_MONTHS_FR[local.month - 1]} à {clock}"
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    clock = f"{hour}:{local.minute:02d} {suffix}" if local.minute else f"{hour} {suffix}"
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    return f"{local.strftime('%A')} {local.day} {local.strftime('%B')} at {clock}"
