"""Class names and identifiers of the published data sets, as their publishers ship them.

Pure data (no imports beyond the standard library): the rehearsal writers and
their tests read these lists; the ImageNet-1k WordNet ids come from
:func:`cnneff.data.published.imagenet_wnids` (the real ILSVRC-2012 list).
"""
from __future__ import annotations

__all__ = ["DEEPWEEDS_SPECIES", "CIFAR10_CLASSES", "CIFAR100_SUPERCLASSES", "cifar100_fine_names",
           "IMAGENET100_WNIDS", "RPS_CLASSES"]

# DeepWeeds (Olsen et al. 2019), labels.csv: Label 0..8 -> Species, in this order.
DEEPWEEDS_SPECIES = ("Chinee apple", "Lantana", "Parkinsonia", "Parthenium", "Prickly acacia",
                     "Rubber vine", "Siam weed", "Snake weed", "Negative")

# CIFAR-10 batches.meta label_names, in label order.
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# CIFAR-100 meta: coarse_label_names (sorted, as published) -> their five fine labels.
CIFAR100_SUPERCLASSES = {
    "aquatic_mammals": ("beaver", "dolphin", "otter", "seal", "whale"),
    "fish": ("aquarium_fish", "flatfish", "ray", "shark", "trout"),
    "flowers": ("orchid", "poppy", "rose", "sunflower", "tulip"),
    "food_containers": ("bottle", "bowl", "can", "cup", "plate"),
    "fruit_and_vegetables": ("apple", "mushroom", "orange", "pear", "sweet_pepper"),
    "household_electrical_devices": ("clock", "keyboard", "lamp", "telephone", "television"),
    "household_furniture": ("bed", "chair", "couch", "table", "wardrobe"),
    "insects": ("bee", "beetle", "butterfly", "caterpillar", "cockroach"),
    "large_carnivores": ("bear", "leopard", "lion", "tiger", "wolf"),
    "large_man-made_outdoor_things": ("bridge", "castle", "house", "road", "skyscraper"),
    "large_natural_outdoor_scenes": ("cloud", "forest", "mountain", "plain", "sea"),
    "large_omnivores_and_herbivores": ("camel", "cattle", "chimpanzee", "elephant", "kangaroo"),
    "medium_mammals": ("fox", "porcupine", "possum", "raccoon", "skunk"),
    "non-insect_invertebrates": ("crab", "lobster", "snail", "spider", "worm"),
    "people": ("baby", "boy", "girl", "man", "woman"),
    "reptiles": ("crocodile", "dinosaur", "lizard", "snake", "turtle"),
    "small_mammals": ("hamster", "mouse", "rabbit", "shrew", "squirrel"),
    "trees": ("maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"),
    "vehicles_1": ("bicycle", "bus", "motorcycle", "pickup_truck", "train"),
    "vehicles_2": ("lawn_mower", "rocket", "streetcar", "tank", "tractor"),
}


def cifar100_fine_names() -> list[str]:
    """Returns CIFAR-100's 100 fine_label_names in label order (alphabetical, as published)."""
    return sorted(n for fines in CIFAR100_SUPERCLASSES.values() for n in fines)


# ImageNet-100 stand-in: the 100 classes of mini-ImageNet (Vinyals et al. 2016, the Ravi & Larochelle
# split, as timm ships it in timm/data/_info/mini_imagenet_synsets.txt), sorted.  The papers' own
# ImageNet-100 class lists are not published; any 100 WordNet-id folders train the same way.
IMAGENET100_WNIDS = tuple("""
n01532829 n01558993 n01704323 n01749939 n01770081 n01843383 n01855672 n01910747 n01930112 n01981276
n02074367 n02089867 n02091244 n02091831 n02099601 n02101006 n02105505 n02108089 n02108551 n02108915
n02110063 n02110341 n02111277 n02113712 n02114548 n02116738 n02120079 n02129165 n02138441 n02165456
n02174001 n02219486 n02443484 n02457408 n02606052 n02687172 n02747177 n02795169 n02823428 n02871525
n02950826 n02966193 n02971356 n02981792 n03017168 n03047690 n03062245 n03075370 n03127925 n03146219
n03207743 n03220513 n03272010 n03337140 n03347037 n03400231 n03417042 n03476684 n03527444 n03535780
n03544143 n03584254 n03676483 n03770439 n03773504 n03775546 n03838899 n03854065 n03888605 n03908618
n03924679 n03980874 n03998194 n04067472 n04146614 n04149813 n04243546 n04251144 n04258138 n04275548
n04296562 n04389033 n04418357 n04435653 n04443257 n04509417 n04515003 n04522168 n04596742 n04604644
n04612504 n06794110 n07584110 n07613480 n07697537 n07747607 n09246464 n09256479 n13054560 n13133613
""".split())

# Rock-Paper-Scissors (Laurence Moroney, rps.zip + rps-test-set.zip): one folder per class.
RPS_CLASSES = ("paper", "rock", "scissors")
