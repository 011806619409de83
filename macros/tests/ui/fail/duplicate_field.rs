use blazes_annotations::blazes;

#[blazes(OW(word, word))]
struct Count;

fn main() {}
