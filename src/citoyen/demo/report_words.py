"""What the demo's residents write in their reports and what staff answer: the places in the street, the
problems of each category in French and English, the departments' answers and internal notes. Words only; the
plan of each report and its writing to the database are in `citoyen.demo.reports`."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from citoyen.reports.models import CloseReason

STREETS = {
    1: ["rue de Rivoli", "rue Saint-Honoré", "rue du Louvre", "rue des Halles", "rue Montorgueil"],
    2: ["rue Réaumur", "rue du Sentier", "rue Montmartre", "rue Saint-Denis", "rue de Cléry"],
    3: ["rue de Bretagne", "rue de Turbigo", "rue Charlot", "rue des Archives", "rue Vieille-du-Temple"],
    4: ["rue Saint-Antoine", "rue des Rosiers", "rue du Temple", "rue de Rivoli", "quai de l'Hôtel-de-Ville"],
    5: ["rue Mouffetard", "boulevard Saint-Michel", "rue Monge", "rue Saint-Jacques", "rue Gay-Lussac"],
    6: ["rue de Rennes", "rue de Vaugirard", "boulevard Saint-Germain", "rue du Four", "rue d'Assas"],
    7: ["rue de Grenelle", "rue Cler", "avenue Bosquet", "rue du Bac", "rue Saint-Dominique"],
    8: ["rue du Faubourg-Saint-Honoré", "avenue de Friedland", "rue de Miromesnil", "boulevard Malesherbes"],
    9: ["rue des Martyrs", "rue La Fayette", "rue de Châteaudun", "rue Notre-Dame-de-Lorette"],
    10: ["rue du Faubourg-Saint-Denis", "rue de Lancry", "quai de Valmy", "boulevard de Magenta", "rue de Paradis"],
    11: ["rue Oberkampf", "rue de la Roquette", "boulevard Voltaire", "rue de Charonne", "avenue Parmentier"],
    12: ["avenue Daumesnil", "rue de Charenton", "boulevard Diderot", "rue de Picpus", "cours de Vincennes"],
    13: ["avenue d'Italie", "boulevard Vincent-Auriol", "rue de Tolbiac", "avenue de Choisy", "rue Bobillot"],
    14: ["avenue du Général-Leclerc", "rue d'Alésia", "rue Raymond-Losserand", "rue Daguerre", "boulevard Brune"],
    15: ["rue de la Convention", "rue du Commerce", "rue Lecourbe", "avenue Émile-Zola", "rue de Vaugirard"],
    16: ["avenue de Versailles", "rue de Passy", "avenue Mozart", "rue de la Pompe", "avenue Victor-Hugo"],
    17: ["avenue de Clichy", "rue de Lévis", "rue des Batignolles", "avenue de Wagram", "rue Legendre"],
    18: ["rue Ordener", "boulevard Barbès", "rue Marcadet", "rue Caulaincourt", "rue de la Chapelle", "rue Myrha"],
    19: ["avenue Jean-Jaurès", "rue de Belleville", "rue de Crimée", "quai de la Loire", "rue de Meaux"],
    20: ["rue des Pyrénées", "rue de Ménilmontant", "rue de Bagnolet", "boulevard de Belleville", "rue d'Avron"],
}
FRENCH_MONTHS = [
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
]


# --- where: places in the street ---------------------------------------------------------------


def _of(street: str) -> str:
    """'rue X' -> 'de la rue X', 'boulevard X' -> 'du boulevard X', 'avenue X' -> "de l'avenue X"."""
    kind = street.split(" ", 1)[0]
    prefix = {"rue": "de la ", "boulevard": "du ", "quai": "du ", "cours": "du ", "avenue": "de l'"}
    return prefix.get(kind, "de ") + street


PLACES_FR = [
    "devant le n° {n} {street}",
    "devant le {n} {street}",
    "au niveau du {n} {street}",
    "en face du {n} {street}",
    "à l'angle {of} et {of2}",
    "{street}, à hauteur du n° {n}",
    "{street}, côté pair",
    "{street}, côté impair",
    "au pied de mon immeuble, {n} {street}",
    "devant l'école {of}",
    "à l'arrêt de bus {of}",
    "à la sortie du métro, {street}",
    "devant la boulangerie {of}",
    "en face de la pharmacie, {street}",
    "à côté de la station Vélib' {of}",
    "le long du square, {street}",
    "près du marché {of}",
    "devant le kiosque à journaux {of}",
    "juste après le passage piéton {of}",
    "entre le {n} et le {n2} {street}",
]
PLACES_EN = [
    "in front of no. {n} {street}",
    "outside {n} {street}",
    "opposite no. {n} {street}",
    "at the corner of {street} and {street2}",
    "by the bus stop on {street}",
    "near the metro exit on {street}",
    "outside the bakery on {street}",
    "next to the Vélib' station on {street}",
    "on {street}, near the school",
    "on {street}, between no. {n} and no. {n2}",
]
WHEN_FR = [
    "depuis ce matin",
    "depuis hier soir",
    "depuis hier",
    "depuis deux jours",
    "depuis trois jours",
    "depuis plus d'une semaine",
    "depuis des semaines",
    "depuis le week-end",
]
MOMENTS_FR = ["ce matin vers 8 h", "hier soir vers 22 h", "cette nuit", "ce midi"]
WHEN_EN = [
    "since this morning",
    "since yesterday",
    "for a few days now",
    "for over a week",
    "for weeks",
    "since the weekend",
    "since last night",
]
CLOSERS_FR = [
    "Merci\u202f!",
    "Merci d'avance.",
    "Merci de faire le nécessaire.",
    "Cordialement.",
    "Merci pour votre intervention.",
    "C'est urgent\u202f!",
    "Merci de passer vite.",
]
CLOSERS_EN = ["Thanks!", "Thank you.", "Please sort it out.", "Many thanks.", "It's urgent!"]
ALREADY_FR = [
    "Déjà signalé il y a un mois, toujours rien.",
    "C'est la deuxième fois que je le signale.",
    "Ça revient régulièrement à cet endroit.",
]
ALREADY_EN = ["Already reported a month ago, still nothing.", "Second time I'm reporting this."]


# --- what: each category's answers and the words that go with them ----------------------------

Answers = dict[str, list[str]]
Words = dict[str, dict[str, list[str]]]  # answer key -> language -> phrases


def weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    return rng.choices([key for key, _ in options], [weight for _, weight in options])[0]


def _some(rng: random.Random, options: Sequence[tuple[str, float]], most: int) -> list[str]:
    """Up to `most` distinct keys, drawn by weight."""
    chosen: list[str] = []
    for _ in range(rng.randint(1, most)):
        key = weighted(rng, options)
        if key not in chosen:
            chosen.append(key)
    return chosen


def _join(items: list[str], lang: str) -> str:
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + (" et " if lang == "fr" else " and ") + items[-1]


@dataclass
class Problem:
    """A category's answers and the sentences a resident would write about them."""

    answers: Answers
    lead: str  # a template with {place}
    extras: list[str] = field(default_factory=list)  # candidate second sentences
    moments: bool = True  # whether "seen last night" makes sense (not for a light on in daylight)


def _pick(rng: random.Random, options: list[str]) -> str:
    return rng.choice(options)


def _pothole(rng: random.Random, lang: str) -> Problem:
    size = weighted(rng, [("small", 0.35), ("medium", 0.45), ("large", 0.2)])
    hazards = _some(rng, [("bikes", 3), ("pedestrians", 2), ("cars", 2), ("motorbikes", 1)], 2)
    answers: Answers = {"size": [size]}
    if rng.random() < 0.6:
        answers["hazards"] = hazards
    leads = {
        "fr": {
            "small": [
                "Petit nid-de-poule {place}",
                "Un trou commence à se former {place}",
                "Trou dans le bitume {place}, pas très grand mais profond",
            ],
            "medium": [
                "Nid-de-poule {place}",
                "Trou dans la chaussée {place}",
                "Nid de poule assez profond {place}",
                "La chaussée est défoncée {place}",
            ],
            "large": [
                "Énorme nid-de-poule {place}",
                "Gros trou dans la chaussée {place}, on pourrait y perdre une roue",
                "La chaussée s'est affaissée {place} sur presque un mètre",
            ],
        },
        "en": {
            "small": ["Small pothole {place}", "A hole is starting to form {place}"],
            "medium": ["Pothole {place}", "Hole in the road {place}", "Deep pothole {place}"],
            "large": ["Huge pothole {place}", "Massive hole in the road {place}, you could lose a wheel in it"],
        },
    }
    extras = {
        "fr": {
            "bikes": ["Les cyclistes doivent faire un écart pour l'éviter.", "J'ai failli tomber à vélo."],
            "pedestrians": ["Les piétons se tordent la cheville en traversant.", "Une dame âgée a trébuché dedans."],
            "cars": ["Les voitures freinent brusquement pour l'éviter.", "Ma voiture a tapé dedans hier soir."],
            "motorbikes": ["Très dangereux pour les scooters, surtout sous la pluie."],
            "": [
                "L'eau s'accumule dedans quand il pleut.",
                "Il s'agrandit de semaine en semaine.",
                "Les bus tapent dedans, ça fait un bruit énorme.",
            ],
        },
        "en": {
            "bikes": ["Cyclists have to swerve around it.", "I nearly came off my bike."],
            "pedestrians": ["People trip on it when crossing."],
            "cars": ["Cars brake hard to avoid it."],
            "motorbikes": ["Really dangerous for scooters when it rains."],
            "": ["It fills with water when it rains.", "It gets bigger every week."],
        },
    }
    pool = [phrase for key in [*answers.get("hazards", []), ""] for phrase in extras[lang][key]]
    return Problem(answers, _pick(rng, leads[lang][size]), pool)


def _light(rng: random.Random, lang: str) -> Problem:
    count = int(weighted(rng, [("1", 0.55), ("2", 0.2), ("3", 0.12), ("4", 0.06), ("5", 0.04), ("8", 0.03)]))
    state = weighted(rng, [("off", 0.75), ("flickering", 0.15), ("day", 0.1)])
    answers: Answers = {"lights_out": [str(count)]}
    if rng.random() < 0.7:
        answers["state"] = [state]
    if lang == "fr":
        leads = {
            "off": ["Lampadaire éteint {place}", "Le réverbère ne s'allume plus {place}", "Plus d'éclairage {place}"]
            if count == 1
            else [
                f"{count} lampadaires éteints {{place}}",
                f"Toute la rue est dans le noir {{place}}, {count} lampadaires ne marchent plus",
            ],
            "flickering": ["Le lampadaire clignote sans arrêt {place}", "Lampadaire qui s'allume et s'éteint {place}"],
            "day": ["Lampadaire allumé en plein jour {place}", "L'éclairage reste allumé toute la journée {place}"],
        }
        extras = {
            "off": [
                "On ne voit rien le soir, ce n'est pas rassurant.",
                "Le passage piéton n'est plus éclairé.",
                "Les enfants rentrent du sport dans le noir.",
                "Ça fait peur en rentrant tard.",
            ],
            "flickering": ["C'est pénible, ça éclaire les chambres en face.", "Ça donne mal à la tête le soir."],
            "day": ["Quel gaspillage d'énergie.", "Ça dure depuis plusieurs jours."],
        }
    else:
        leads = {
            "off": ["Street light out {place}", "The street light doesn't come on any more {place}"]
            if count == 1
            else [f"{count} street lights out {{place}}", "The whole street is dark {place}"],
            "flickering": ["The street light keeps flickering {place}"],
            "day": ["Street light on in broad daylight {place}"],
        }
        extras = {
            "off": [
                "It's pitch dark in the evening.",
                "The crossing isn't lit any more.",
                "Feels unsafe walking home at night.",
            ],
            "flickering": ["It flashes into the flats opposite all night."],
            "day": ["What a waste of energy."],
        }
    return Problem(answers, _pick(rng, leads[state]), extras[state], moments=state != "day")


DUMPED_ITEMS = {
    "fr": {
        "furniture": ["un matelas", "un canapé", "une armoire démontée", "des chaises cassées", "un sommier"],
        "rubble": ["des sacs de gravats", "des plaques de plâtre", "des déchets de chantier"],
        "appliances": ["un frigo", "une machine à laver", "un vieux four", "une télé"],
        "household": ["des sacs poubelle", "des sacs d'ordures éventrés"],
        "cardboard": ["des cartons", "des cartons de déménagement"],
        "green": ["des branchages", "des sacs de déchets verts"],
        "tyres": ["des pneus", "quatre pneus"],
    },
    "en": {
        "furniture": ["a mattress", "a sofa", "broken chairs", "a bed base"],
        "rubble": ["bags of rubble", "plasterboard"],
        "appliances": ["a fridge", "a washing machine", "an old TV"],
        "household": ["rubbish bags", "torn bin bags"],
        "cardboard": ["cardboard boxes"],
        "green": ["garden waste"],
        "tyres": ["old tyres"],
    },
}


def _dumping(rng: random.Random, lang: str) -> Problem:
    volume = weighted(rng, [("bags", 0.3), ("bulky", 0.35), ("pile", 0.25), ("van", 0.1)])
    kinds = [("furniture", 0.35), ("rubble", 0.15), ("appliances", 0.15), ("household", 0.3), ("cardboard", 0.25)]
    types = _some(rng, [*kinds, ("green", 0.08), ("tyres", 0.04)], 3)
    if volume == "bags":
        types = ["household"]
    answers: Answers = {"volume": [volume]}
    if rng.random() < 0.75:
        answers["waste_types"] = types
    items = _join([rng.choice(DUMPED_ITEMS[lang][kind]) for kind in types], lang)
    if lang == "fr":
        leads = [
            f"Dépôt sauvage {{place}}\u00a0: {items}",
            f"Encore des encombrants {{place}}\u00a0: {items}",
            f"Quelqu'un a déposé {items} {{place}}",
            f"Tas de déchets {{place}} ({items})",
        ]
        if volume == "van":
            leads = [
                f"Un camion a tout déchargé {{place}}\u00a0: {items}",
                f"Énorme dépôt {{place}}, au moins un mètre cube\u00a0: {items}",
            ]
        extras = [
            "Ça attire les rats.",
            "Avec la chaleur ça sent très mauvais.",
            "Impossible de passer avec une poussette.",
            "Ce n'est pas la première fois à cet endroit.",
            "Les gens en rajoutent chaque jour.",
            "Le trottoir est complètement bloqué.",
        ]
    else:
        leads = [
            f"Fly-tipping {{place}}: {items}",
            f"Someone dumped {items} {{place}}",
            f"Pile of rubbish {{place}} ({items})",
        ]
        extras = [
            "It's attracting rats.",
            "It smells awful in this heat.",
            "Can't get past with a pushchair.",
            "Not the first time here.",
        ]
    return Problem(answers, _pick(rng, leads), extras)


def _graffiti(rng: random.Random, lang: str) -> Problem:
    surface = weighted(rng, [("facade", 0.45), ("shop", 0.25), ("furniture", 0.2), ("public_building", 0.1)])
    offensive = rng.random() < 0.12
    answers: Answers = {}
    if rng.random() < 0.8:
        answers["surface"] = [surface]
    if offensive or rng.random() < 0.5:
        answers["offensive"] = ["yes" if offensive else "no"]
    leads = {
        "fr": {
            "facade": [
                "Tags sur la façade {place}",
                "Graffitis sur le mur de l'immeuble {place}",
                "Le mur vient d'être repeint et il est déjà tagué {place}",
            ],
            "shop": [
                "Tags sur le rideau de fer d'un commerce {place}",
                "La devanture d'un magasin a été taguée {place}",
            ],
            "furniture": [
                "Tags sur l'abribus {place}",
                "Graffitis sur le banc et l'armoire électrique {place}",
                "Le panneau d'information est recouvert de tags {place}",
            ],
            "public_building": [
                "Tags sur le mur de l'église {place}",
                "Graffitis sur la façade de l'école {place}",
                "Tags sur la fontaine {place}",
            ],
        },
        "en": {
            "facade": ["Tags on the building front {place}", "Graffiti all over the wall {place}"],
            "shop": ["Graffiti on a shop shutter {place}"],
            "furniture": ["Graffiti on the bus shelter {place}", "Tags on the electrical cabinet {place}"],
            "public_building": ["Graffiti on the school wall {place}", "Tags on the church wall {place}"],
        },
    }
    if offensive:
        extras = {
            "fr": [
                "Les inscriptions sont injurieuses, merci de les effacer vite.",
                "Il y a des insultes racistes, les enfants passent devant tous les jours.",
            ],
            "en": ["The words are offensive, please remove them quickly."],
        }[lang]
    else:
        extras = {
            "fr": [
                "Merci de les effacer.",
                "Ça revient chaque semaine.",
                "Le syndic est d'accord pour le nettoyage.",
                "C'est dommage, la rue est jolie.",
            ],
            "en": ["Please have them removed.", "They come back every week."],
        }[lang]
    return Problem(answers, _pick(rng, leads[lang][surface]), extras)


def _water(rng: random.Random, lang: str) -> Problem:
    where = weighted(rng, [("road", 0.45), ("pavement", 0.4), ("hydrant", 0.15)])
    leads = {
        "fr": {
            "road": [
                "Fuite d'eau sur la chaussée {place}",
                "De l'eau sort de la chaussée {place}, ça coule vers le caniveau",
            ],
            "pavement": [
                "Fuite d'eau sur le trottoir {place}",
                "Le trottoir est inondé {place}, l'eau remonte entre les pavés",
            ],
            "hydrant": ["La bouche d'arrosage est restée ouverte {place}", "Bouche d'incendie qui fuit {place}"],
        },
        "en": {
            "road": ["Water leak in the road {place}", "Water bubbling up from the road {place}"],
            "pavement": ["Water leaking on the pavement {place}"],
            "hydrant": ["Fire hydrant leaking {place}", "Street tap left running {place}"],
        },
    }
    extras = {
        "fr": [
            "Ça coule en continu.",
            "Grande flaque, on est obligé de marcher sur la route.",
            "S'il gèle cette nuit ça va être une patinoire.",
            "Quel gâchis d'eau potable.",
        ],
        "en": [
            "It's running non-stop.",
            "Big puddle, people have to walk in the road.",
            "Such a waste of drinking water.",
        ],
    }
    return Problem({"where": [where]}, _pick(rng, leads[lang][where]), extras[lang])


def _furniture(rng: random.Random, lang: str) -> Problem:
    item = weighted(
        rng, [("bench", 0.2), ("bollard", 0.25), ("bin", 0.2), ("bike_rack", 0.15), ("sign", 0.12), ("shelter", 0.08)]
    )
    leads = {
        "fr": {
            "bench": ["Banc cassé {place}, il manque une planche", "Le banc est descellé {place}"],
            "bollard": [
                "Potelet arraché {place}, il est couché sur le trottoir",
                "Plusieurs potelets tordus {place}",
                "Barrière de protection arrachée {place}",
            ],
            "bin": ["La corbeille de rue a été arrachée {place}", "Poubelle de rue brûlée {place}"],
            "bike_rack": [
                "Arceaux vélo tordus {place}, on ne peut plus attacher son vélo",
                "Un arceau vélo a été arraché {place}",
            ],
            "sign": [
                "Panneau stop tordu {place}",
                "Le panneau sens interdit est tombé {place}",
                "Panneau de signalisation tourné dans le mauvais sens {place}",
            ],
            "shelter": [
                "Vitre de l'abribus brisée {place}, il y a du verre partout",
                "L'abribus n'a plus de vitre {place}",
            ],
        },
        "en": {
            "bench": ["Broken bench {place}, a slat is missing"],
            "bollard": ["Bollard knocked over {place}", "Several bent bollards {place}"],
            "bin": ["Litter bin torn off {place}"],
            "bike_rack": ["Bike racks bent {place}, you can't lock a bike any more"],
            "sign": ["Road sign bent {place}", "No-entry sign has fallen down {place}"],
            "shelter": ["Bus shelter glass smashed {place}, glass everywhere"],
        },
    }
    extras = {
        "fr": {
            "bench": ["Les personnes âgées n'ont plus où s'asseoir.", "Il y a des vis qui dépassent."],
            "bollard": ["Les tiges en métal qui dépassent sont dangereuses.", "Les voitures montent sur le trottoir."],
            "bin": ["Les déchets s'entassent par terre.", "Il n'y a pas d'autre poubelle dans la rue."],
            "bike_rack": ["Du coup les vélos sont attachés aux grilles des arbres."],
            "sign": ["Les automobilistes ne le voient plus.", "Des voitures prennent la rue à contresens."],
            "shelter": ["Les éclats de verre sont dangereux pour les enfants."],
            "": ["Ça fait plusieurs semaines que c'est comme ça."],
        },
        "en": {
            "bench": ["Older people have nowhere to sit now."],
            "bollard": ["The metal sticking out is dangerous."],
            "bin": ["Rubbish is piling up on the ground."],
            "bike_rack": ["People lock their bikes to the tree guards instead."],
            "sign": ["Drivers can't see it any more."],
            "shelter": ["The broken glass is dangerous for kids."],
            "": ["It has been like this for weeks."],
        },
    }
    pool = extras[lang][item] + extras[lang][""]
    return Problem({"item": [item]}, _pick(rng, leads[lang][item]), pool)


def _tree(rng: random.Random, lang: str) -> Problem:
    problem = weighted(rng, [("branch", 0.4), ("leaning", 0.15), ("roots", 0.3), ("fallen", 0.15)])
    leads = {
        "fr": {
            "branch": [
                "Une grosse branche menace de tomber {place}",
                "Branche cassée qui pend au-dessus du trottoir {place}",
                "Après le coup de vent, une branche est restée accrochée {place}",
            ],
            "leaning": [
                "L'arbre penche de plus en plus {place}",
                "Arbre qui penche dangereusement vers les immeubles {place}",
            ],
            "roots": [
                "Les racines soulèvent le trottoir {place}, on trébuche",
                "Le trottoir est déformé par les racines {place}",
            ],
            "fallen": [
                "Arbre tombé {place}, il bloque le passage",
                "Un arbre s'est couché sur la chaussée {place} pendant la nuit",
            ],
        },
        "en": {
            "branch": ["A big branch looks about to fall {place}", "Broken branch hanging over the pavement {place}"],
            "leaning": ["Tree leaning more and more {place}"],
            "roots": ["Roots lifting the pavement {place}, people trip"],
            "fallen": ["Fallen tree {place}, blocking the way"],
        },
    }
    extras = {
        "fr": {
            "branch": ["Les passants passent dessous sans faire attention.", "Il y a une école juste à côté."],
            "leaning": ["Il y a une école juste à côté.", "Ça m'inquiète à chaque coup de vent."],
            "roots": ["Les personnes âgées trébuchent.", "Impossible de passer avec un fauteuil roulant."],
            "fallen": ["Il a abîmé une voiture garée.", "Les piétons marchent sur la chaussée pour le contourner."],
            "": ["Merci de sécuriser vite."],
        },
        "en": {
            "branch": ["People walk under it all day."],
            "leaning": ["There's a school right next to it."],
            "roots": ["Older people keep tripping."],
            "fallen": ["It damaged a parked car."],
            "": ["Please make it safe quickly."],
        },
    }
    pool = extras[lang][problem] + extras[lang][""]
    return Problem({"problem": [problem]}, _pick(rng, leads[lang][problem]), pool)


# The vehicle as residents name it: French noun and the agreement of "garé(e)", English noun.
VEHICLES = {"car": ("Voiture", "e", "Car"), "van": ("Camionnette", "e", "Van"), "motorbike": ("Scooter", "", "Scooter")}


def _parking(rng: random.Random, lang: str) -> Problem:
    places = [("pavement", 0.3), ("cycle_lane", 0.22), ("crossing", 0.12), ("delivery_bay", 0.12)]
    where = weighted(rng, [*places, ("disabled_bay", 0.08), ("double", 0.16)])
    if where == "pavement" and rng.random() < 0.35:
        vehicle = "shared"
    else:
        vehicle = weighted(rng, [("car", 0.65), ("van", 0.28), ("motorbike", 0.07)])
    answers: Answers = {"where": [where]}
    if vehicle == "shared" or rng.random() < 0.7:
        answers["vehicle"] = [vehicle]
    noun, e, noun_en = VEHICLES.get(vehicle, VEHICLES["car"])
    leads = {
        "fr": {
            "pavement": [
                f"{noun} garé{e} sur le trottoir {{place}}",
                f"{noun} garé{e} à cheval sur le trottoir {{place}}, impossible de passer avec un fauteuil",
            ],
            "shared": [
                "Trottinettes et vélos en libre-service en vrac sur le trottoir {place}",
                "Des trottinettes couchées en travers du trottoir {place}",
            ],
            "cycle_lane": [
                f"{noun} garé{e} sur la piste cyclable {{place}}",
                f"{noun} de livraison sur la piste cyclable {{place}}, tous les matins",
            ],
            "crossing": [
                f"{noun} stationné{e} sur le passage piéton {{place}}",
                f"{noun} garé{e} sur le passage piéton {{place}}, les enfants ne voient rien en traversant",
            ],
            "delivery_bay": [
                f"{noun} ventouse sur l'aire de livraison {{place}}",
                "L'aire de livraison est toujours occupée {place}, les livreurs se mettent en double file",
            ],
            "disabled_bay": [f"{noun} sans carte garé{e} sur la place handicapé {{place}}"],
            "double": [
                f"{noun} en double file {{place}}, les bus ne passent plus",
                "Stationnement en double file {place} tous les soirs",
            ],
        },
        "en": {
            "pavement": [f"{noun_en} parked on the pavement {{place}}"],
            "shared": ["Shared e-scooters dumped across the pavement {place}"],
            "cycle_lane": [
                f"{noun_en} parked in the cycle lane {{place}}, every morning",
                f"{noun_en} blocking the cycle lane {{place}}",
            ],
            "crossing": [f"{noun_en} parked on the pedestrian crossing {{place}}"],
            "delivery_bay": [f"{noun_en} left for days in the delivery bay {{place}}"],
            "disabled_bay": [f"{noun_en} without a permit in the disabled space {{place}}"],
            "double": [f"{noun_en} double-parked {{place}}, buses can't get through"],
        },
    }
    extras = {
        "fr": {
            "double": ["Les bus restent bloqués.", "Ça klaxonne toute la soirée."],
            "cycle_lane": ["Les vélos doivent se déporter dans la circulation."],
            "pavement": ["Les poussettes passent sur la route.", "Les personnes en fauteuil ne passent plus."],
            "crossing": ["Les enfants de l'école traversent ici."],
            "": ["C'est tous les jours pareil."],
        },
        "en": {
            "cycle_lane": ["Bikes have to swerve into the traffic."],
            "double": ["Buses are stuck behind."],
            "": ["Same thing every day."],
        },
    }
    pool = extras[lang].get(where, []) + extras[lang][""]
    key = "shared" if vehicle == "shared" else where
    return Problem(answers, _pick(rng, leads[lang][key]), pool)


PROBLEMS: dict[str, Callable[[random.Random, str], Problem]] = {
    "nid-de-poule": _pothole,
    "eclairage-panne": _light,
    "depot-sauvage": _dumping,
    "graffiti": _graffiti,
    "fuite-eau": _water,
    "mobilier-urbain": _furniture,
    "arbre-dangereux": _tree,
    "stationnement-genant": _parking,
}


def street_place(rng: random.Random, lang: str, arrondissement: int) -> tuple[str, str]:
    """A place as a resident writes it, and the street address it stands for."""
    streets = STREETS.get(arrondissement) or STREETS[11]
    street, street2 = rng.sample(streets, 2)
    number = rng.randint(1, 120)
    values = {
        "n": str(number),
        "n2": str(number + rng.choice([2, 4, 6])),
        "street": street,
        "street2": street2,
        "of": _of(street),
        "of2": _of(street2),
    }
    template = rng.choice(PLACES_FR if lang == "fr" else PLACES_EN)
    return template.format(**values), f"{number} {street}"


def describe(rng: random.Random, lang: str, problem: Problem, place: str) -> str:
    """A description in the voice of a resident: short, concrete, never twice the same."""
    lead = problem.lead.format(place=place)
    sentences = [lead + "."]
    if rng.random() < 0.35:
        moment = lang == "fr" and problem.moments and rng.random() < 0.3
        when = rng.choice(MOMENTS_FR if moment else WHEN_FR if lang == "fr" else WHEN_EN)
        if ", " not in lead:
            sentences = [f"{lead} {when}."]
        elif lang == "fr":
            sentences.append(f"Constaté {when}." if moment else f"Ça dure {when}.")
        else:
            sentences.append(f"It's been like this {when}.")
    if problem.extras and rng.random() < 0.6:
        sentences.append(rng.choice(problem.extras))
    if rng.random() < 0.05:
        sentences.append(rng.choice(ALREADY_FR if lang == "fr" else ALREADY_EN))
    if rng.random() < 0.25:
        sentences.append(rng.choice(CLOSERS_FR if lang == "fr" else CLOSERS_EN))
    text = " ".join(sentences)
    if rng.random() < 0.12:
        greeting = "Bonjour, " if lang == "fr" else "Hi, "
        text = greeting + text[0].lower() + text[1:]
    style = rng.random()
    if style < 0.08:  # typed in a hurry on a phone
        text = text.lower().rstrip(".!")
    elif style < 0.11:
        text = text.rstrip(".! ") + ("\u202f!!" if lang == "fr" else "!!")
    return text


# --- how it was handled: staff answers ---------------------------------------------------------


def date_fr(moment: datetime) -> str:
    return f"{moment.day} {FRENCH_MONTHS[moment.month - 1]}"


FIXED_ANSWERS = {
    "nid-de-poule": [
        "Le nid-de-poule a été rebouché le {date}. Merci pour votre signalement.",
        "La chaussée a été reprise en enrobé le {date}.",
        "Rebouchage provisoire effectué\u202f; une réfection complète de la chaussée est inscrite au programme "
        "de travaux.",
    ],
    "eclairage-panne": [
        "La lampe a été remplacée le {date}, l'éclairage fonctionne à nouveau.",
        "Un câble d'alimentation était endommagé\u202f; il a été réparé le {date}.",
        "L'horloge de l'armoire d'éclairage a été reprogrammée.",
    ],
    "depot-sauvage": [
        "Les déchets ont été enlevés le {date} par les équipes de propreté.",
        "Enlèvement effectué. Rappel\u00a0: les encombrants sont enlevés gratuitement sur rendez-vous.",
        "Le dépôt a été ramassé et le trottoir nettoyé.",
    ],
    "graffiti": [
        "Les tags ont été effacés le {date}.",
        "Nettoyage effectué par hydrogommage le {date}.",
        "La façade a été repeinte par nos équipes.",
    ],
    "fuite-eau": [
        "La fuite a été réparée le {date}.",
        "La bouche d'arrosage a été refermée et son joint changé.",
    ],
    "mobilier-urbain": [
        "L'équipement a été réparé le {date}.",
        "L'équipement a été remplacé le {date}. Merci pour votre signalement.",
        "Nos agents ont remis en place et scellé l'équipement.",
    ],
    "arbre-dangereux": [
        "L'arbre a été élagué et mis en sécurité le {date}.",
        "La branche a été retirée le {date}.",
        "L'arbre, malade, a été abattu\u202f; un nouvel arbre sera planté à la prochaine saison de plantation.",
    ],
    "stationnement-genant": [
        "Une patrouille de la police municipale est passée le {date}\u202f; le véhicule a été verbalisé.",
        "Le véhicule a été enlevé par la fourrière.",
        "Les trottinettes ont été retirées et l'opérateur a été rappelé à l'ordre.",
    ],
}
OTHER_ANSWERS = {
    CloseReason.NOT_FOUND: [
        "Nos agents sont passés le {date} mais n'ont pas constaté le problème. "
        "N'hésitez pas à refaire un signalement avec une photo.",
        "Le problème n'était plus visible lors de notre passage le {date}.",
    ],
    CloseReason.NOT_RESPONSIBLE: [
        "Cet endroit ne relève pas de la Ville\u202f; votre signalement a été transmis au gestionnaire concerné.",
        "Il s'agit d'un terrain privé\u00a0: nous avons écrit au propriétaire pour lui demander d'intervenir.",
    ],
    CloseReason.NO_ACTION: [
        "Après examen, aucune intervention n'est prévue\u00a0: la situation ne présente pas de danger.",
        "Une réfection complète de la rue est prévue l'an prochain\u202f; d'ici là, nous surveillons l'endroit.",
    ],
}
SPECIFIC_ANSWERS = {
    ("fuite-eau", CloseReason.NOT_RESPONSIBLE): [
        "Cette canalisation relève du service des eaux, à qui nous avons transmis votre signalement.",
    ],
    ("stationnement-genant", CloseReason.NOT_FOUND): [
        "Le véhicule n'était plus là lors du passage de la patrouille.",
    ],
    ("stationnement-genant", CloseReason.NO_ACTION): [
        "Nous ne pouvons pas intervenir en temps réel\u202f; "
        "vos signalements aident à programmer des contrôles dans ce secteur.",
    ],
    ("depot-sauvage", CloseReason.NOT_FOUND): [
        "Les déchets avaient déjà été enlevés lors de notre passage.",
    ],
    ("graffiti", CloseReason.NOT_RESPONSIBLE): [
        "Ce mur appartient à une copropriété\u00a0: le nettoyage est à sa charge, "
        "mais elle peut demander une intervention gratuite à la mairie.",
    ],
    ("arbre-dangereux", CloseReason.NOT_RESPONSIBLE): [
        "Cet arbre se trouve sur une parcelle privée\u00a0: nous avons écrit au propriétaire.",
    ],
}
WORK_ANSWERS = {
    "nid-de-poule": "Un rebouchage est programmé.",
    "eclairage-panne": "Une équipe de maintenance de l'éclairage interviendra de nuit.",
    "arbre-dangereux": "Un élagueur passera mettre l'arbre en sécurité\u202f; le secteur a été balisé.",
    "mobilier-urbain": "La pièce de remplacement a été commandée.",
    "graffiti": "Le nettoyage a été confié à notre prestataire.",
}
INTERNAL_NOTES = [
    "Bon de travaux n° {year}-{number:05d}.",
    "Transmis à l'équipe de nuit.",
    "À regrouper avec la tournée du secteur {sector}.",
    "Photo reçue, à vérifier sur place.",
    "Prestataire relancé.",
    "Voir avec la mairie d'arrondissement.",
]
