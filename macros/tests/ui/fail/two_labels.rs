use blazes_annotations::blazes;

#[blazes(CR, OW(word))]
struct Count;

fn main() {}
