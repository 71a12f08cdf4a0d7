#include "app/main.hpp"
int main(int argc, char** argv) { return sb::app::main(argc, argv); }
