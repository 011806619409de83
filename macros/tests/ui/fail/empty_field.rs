use blazes_annotations::blazes;

#[blazes(OW(word, , batch))]
struct Count;

fn main() {}
