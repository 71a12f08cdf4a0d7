// The program: CLI (SPEC §1), config, wiring, run until signalled.
#pragma once
namespace sb::app {
int main(int argc, char** argv);
}
