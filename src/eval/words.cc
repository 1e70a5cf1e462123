// The embedded word lists of the RULER generator (see detail.h). Common English words chosen for
// this project; no list is copied from elsewhere.
#include "eval/detail.h"

namespace glyph::eval::detail {

std::span<const std::string_view> adjectives() {
  static constexpr std::string_view kAdjectives[] = {
      "able",    "absent",   "acid",   "aged",   "airy",   "alert",   "alive",   "amber",
      "ancient", "angry",    "arctic", "ashen",  "awake",  "bald",    "bare",    "basic",
      "bitter",  "blank",    "bleak",  "blind",  "blue",   "bold",    "brave",   "brief",
      "bright",  "brisk",    "broad",  "broken", "brown",  "busy",    "calm",    "careful",
      "cheap",   "chilly",   "clear",  "clever", "close",  "cloudy",  "coarse",  "cold",
      "cool",    "cosmic",   "cozy",   "crisp",  "cruel",  "curious", "damp",    "dark",
      "dear",    "deep",     "dense",  "dim",    "direct", "dizzy",   "dry",     "dull",
      "dusty",   "eager",    "early",  "easy",   "elder",  "empty",   "equal",   "even",
      "exact",   "faint",    "fair",   "false",  "famous", "fancy",   "far",     "fast",
      "fierce",  "final",    "fine",   "firm",   "flat",   "fluffy",  "fond",    "free",
      "fresh",   "friendly", "full",   "funny",  "gentle", "giant",   "glad",    "golden",
      "good",    "grand",    "gray",   "great",  "green",  "grim",    "happy",   "hard",
      "harsh",   "heavy",    "hidden", "high",   "hollow", "honest",  "hot",     "huge",
      "humble",  "hungry",   "icy",    "idle",   "jolly",  "keen",    "kind",    "large",
      "late",    "lazy",     "lean",   "little", "lively", "lone",    "long",    "loose",
      "loud",    "lovely",   "low",    "loyal",  "lucky",  "mad",     "mellow",  "mild",
      "minor",   "misty",    "modern", "moist",  "narrow", "neat",    "new",     "nice",
      "noble",   "noisy",    "odd",    "old",    "orange", "pale",    "patient", "plain",
      "polite",  "poor",     "proud",  "pure",   "purple", "quick",   "quiet",   "rapid",
      "rare",    "raw",      "ready",  "real",   "red",    "rich",    "ripe",    "rough",
      "round",   "royal",    "rude",   "rural",  "rusty",  "sad",     "safe",    "salty",
      "scarce",  "secret",   "sharp",  "shiny",  "short",  "shy",     "silent",  "silly",
      "simple",  "slim",     "slow",   "small",  "smart",  "smooth",  "soft",    "solid",
      "sour",    "spare",    "stale",  "steady", "steep",  "stiff",   "still",   "stormy",
      "strange", "strict",   "strong", "sturdy", "subtle", "sudden",  "sunny",   "sweet",
      "swift",   "tall",     "tame",   "tender", "thick",  "thin",    "tidy",    "tiny",
      "tired",   "tough",    "true",   "ugly",   "upper",  "urban",   "vague",   "vast",
      "violet",  "vivid",    "warm",   "weak",   "weary",  "wet",     "white",   "whole",
      "wide",    "wild",     "wise",   "witty",  "wooden", "young",
  };
  return kAdjectives;
}

std::span<const std::string_view> nouns() {
  static constexpr std::string_view kNouns[] = {
      "acorn",    "actor",   "air",      "airport",  "album",   "anchor",  "angle",   "animal",
      "ankle",    "apple",   "apron",    "arch",     "arm",     "army",    "arrow",   "artist",
      "attic",    "autumn",  "avenue",   "baby",     "badge",   "bag",     "bakery",  "ball",
      "balloon",  "banana",  "band",     "bank",     "barn",    "basket",  "bath",    "beach",
      "bean",     "bear",    "beard",    "bed",      "bee",     "bell",    "belt",    "bench",
      "berry",    "bicycle", "bird",     "blanket",  "boat",    "body",    "bone",    "book",
      "boot",     "bottle",  "bowl",     "box",      "branch",  "bread",   "brick",   "bridge",
      "brother",  "bucket",  "building", "bus",      "butter",  "button",  "cabin",   "cable",
      "cake",     "camera",  "camp",     "candle",   "canoe",   "canyon",  "cap",     "car",
      "card",     "carpet",  "carrot",   "castle",   "cat",     "cave",    "cellar",  "chain",
      "chair",    "chalk",   "cheese",   "cherry",   "chest",   "chicken", "child",   "chimney",
      "church",   "circle",  "city",     "cliff",    "clock",   "cloud",   "coat",    "coffee",
      "coin",     "comet",   "copper",   "corn",     "corner",  "cottage", "cotton",  "country",
      "cousin",   "cow",     "crayon",   "creek",    "crow",    "crown",   "cup",     "curtain",
      "cushion",  "daisy",   "desert",   "desk",     "diamond", "dinner",  "doctor",  "dog",
      "doll",     "door",    "dragon",   "drawer",   "dress",   "drum",    "duck",    "eagle",
      "ear",      "earth",   "egg",      "elbow",    "engine",  "eye",     "fabric",  "face",
      "factory",  "falcon",  "farm",     "feather",  "fence",   "field",   "finger",  "fire",
      "fish",     "flag",    "flame",    "flower",   "flute",   "fog",     "forest",  "fork",
      "fountain", "fox",     "frog",     "fruit",    "garden",  "gate",    "ghost",   "gift",
      "glass",    "glove",   "goat",     "gold",     "grape",   "grass",   "guitar",  "hammer",
      "hand",     "harbor",  "hat",      "hawk",     "hill",    "hive",    "horse",   "hospital",
      "hotel",    "house",   "island",   "jacket",   "jar",     "jewel",   "kettle",  "key",
      "king",     "kitchen", "kite",     "knee",     "knife",   "ladder",  "lake",    "lamp",
      "lantern",  "leaf",    "lemon",    "letter",   "library", "lion",    "lizard",  "lock",
      "map",      "marble",  "market",   "meadow",   "melon",   "mirror",  "monkey",  "moon",
      "mountain", "mouse",   "museum",   "needle",   "nest",    "net",     "night",   "ocean",
      "office",   "olive",   "onion",    "orchard",  "owl",     "oyster",  "pan",     "paper",
      "parrot",   "path",    "peach",    "pear",     "pencil",  "pepper",  "piano",   "picture",
      "pillow",   "pine",    "planet",   "plate",    "pocket",  "pond",    "potato",  "queen",
      "rabbit",   "radio",   "rain",     "river",    "road",    "robin",   "rock",    "roof",
      "room",     "rope",    "rose",     "sail",     "salt",    "sand",    "school",  "sea",
      "seed",     "shadow",  "sheep",    "shell",    "ship",    "shirt",   "shoe",    "shop",
      "shore",    "silver",  "sister",   "sky",      "snail",   "snake",   "snow",    "soap",
      "sock",     "song",    "spider",   "spoon",    "spring",  "square",  "stable",  "star",
      "station",  "stone",   "storm",    "stove",    "street",  "sugar",   "summer",  "sun",
      "swan",     "table",   "tail",     "teacher",  "tent",    "thread",  "throne",  "thunder",
      "ticket",   "tiger",   "tooth",    "tower",    "town",    "toy",     "train",   "tree",
      "trumpet",  "tunnel",  "turtle",   "umbrella", "valley",  "vase",    "village", "violin",
      "wagon",    "wall",    "whale",    "wheel",    "window",  "wing",    "winter",  "wolf",
      "wood",     "world",   "yard",
  };
  return kNouns;
}

std::span<const std::string_view> verbs() {
  static constexpr std::string_view kVerbs[] = {
      "admire", "answer",  "arrange", "borrow",   "bring",    "build",  "carry",   "catch",
      "change", "chase",   "clean",   "climb",    "collect",  "cook",   "count",   "cover",
      "cross",  "dance",   "deliver", "describe", "discover", "draw",   "dream",   "drink",
      "drive",  "enjoy",   "explain", "fetch",    "find",     "fix",    "fold",    "follow",
      "gather", "guard",   "guide",   "hide",     "hold",     "hunt",   "imagine", "inspect",
      "join",   "jump",    "keep",    "kick",     "knock",    "lift",   "light",   "listen",
      "load",   "mark",    "measure", "mend",     "move",     "notice", "open",    "order",
      "paint",  "pass",    "pick",    "plant",    "play",     "polish", "pour",    "protect",
      "pull",   "push",    "reach",   "read",     "remember", "repair", "rescue",  "ride",
      "ring",   "roll",    "save",    "search",   "share",    "shine",  "show",    "sing",
      "sketch", "sort",    "study",   "summon",   "support",  "swim",   "teach",   "throw",
      "touch",  "trace",   "trust",   "visit",    "wander",   "wash",   "watch",   "wave",
      "weigh",  "whisper", "wrap",    "write",
  };
  return kVerbs;
}

std::string third_person(std::string_view verb) {
  std::string out(verb);
  if (out.ends_with("s") || out.ends_with("sh") || out.ends_with("ch") || out.ends_with("x") ||
      out.ends_with("z")) {
    out += "es";
  } else if (out.size() > 1 && out.back() == 'y' &&
             std::string_view("aeiou").find(out[out.size() - 2]) == std::string_view::npos) {
    out.back() = 'i';
    out += "es";
  } else {
    out += "s";
  }
  return out;
}

uint64_t item_seed(uint64_t seed, std::string_view task, int length, int index) {
  uint64_t hash = 0xcbf29ce484222325ULL ^ seed;
  auto mix = [&hash](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 0x100000001b3ULL;
    }
  };
  mix(task);
  mix("/" + std::to_string(length) + "/" + std::to_string(index));
  return Random(hash).next();
}

}  // namespace glyph::eval::detail
