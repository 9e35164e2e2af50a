// modelzoo: headless commands. This file is the table of contents; each feature adds its commands from its folder.
using System.CommandLine;
using ModelZoo.Cli;
using ModelZoo.Cli.Benchmarks;
using ModelZoo.Cli.Datasets;
using ModelZoo.Cli.Pretraining;
using ModelZoo.Cli.Recommender;
using ModelZoo.Cli.Studies;
using ModelZoo.Cli.Weights;

return Program.Run(args);

public partial class Program
{
    public static RootCommand CreateRootCommand() => new("ModelZoo: headless commands for the model zoo.")
    {
        WeightsCommands.Create(),   // weights parity | inspect | import-onnx | onnx-tensor
        BenchCommands.Create(),     // bench models | layers | loader | text | fewshot
        DatasetCommands.Create(),   // datasets fetch | lengths
        PretrainCommands.Create(MlmPretrainCommand.Create(), FingerprintsCommand.Create()),  // pretrain glyphs | mlm | fingerprints
        StudyCommands.Create(),     // study run | table | list
        RecommendCommand.Create(),  // recommend <dataset> [--against study results]
    };

    /// <summary>Parses and runs; usage errors exit with <see cref="ExitCodes.BadInput"/>, not System.CommandLine's 1.</summary>
    public static int Run(string[] args, InvocationConfiguration? configuration = null)
    {
        configuration ??= new InvocationConfiguration();
        var result = CreateRootCommand().Parse(args);
        if (result.Errors.Count == 0)
        {
            ModelZoo.Torch.Native.NativeLogging.Configure();  // libtorch's per-convolution NNPACK warnings at batch 1
            return result.Invoke(configuration);
        }
        foreach (var error in result.Errors) configuration.Error.WriteLine($"error: {error.Message}");
        configuration.Error.WriteLine("Run with --help for usage.");
        return ExitCodes.BadInput;
    }
}
