fn main() {
    println!("grokscope");
}
