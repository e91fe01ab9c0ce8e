// intake-train: trains the meter reader's models and writes their weights (format: DigitWeightsFile).
//
//   intake-train [digits] [--corpus PATH] [--out etc/meters/digits.weights] …   (make train-digits)
//   intake-train dials [--corpus PATH] [--out etc/meters/dials.weights] …       (make train-dials)
//
// Digits learn from the labelled wheel crops of the corpus; dials learn only from dials this
// program renders (DialRenderer), and the corpus's needle crops only measure them. Run from the
// package root, it finds ../shared/corpus (or $INTAKE_CORPUS). Both are deterministic for a seed.

import IntakeMeter

var arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "dials":
    arguments.removeFirst()
    trainDials(arguments: arguments)
case "digits":
    arguments.removeFirst()
    trainDigits(arguments: arguments)
default:
    trainDigits(arguments: arguments)
}
