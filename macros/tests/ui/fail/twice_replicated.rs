use blazes_annotations::blazes;

#[blazes(CW, replicated, replicated)]
struct Cache;

fn main() {}
