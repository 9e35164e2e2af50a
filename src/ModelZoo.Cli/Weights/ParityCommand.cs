using System.CommandLine;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Cli.Weights;

/// <summary>
/// <c>modelzoo weights parity --arch resnet18 --weights w.safetensors --io w.io.safetensors [--num-classes N]
/// [--output logits|features] [--threshold 1e-4] [--config config.json]</c>: exit 0 when the max absolute difference
/// is within the threshold, 1 above it, 2 on bad input. The work is <see cref="ParityCheck"/>, shared with the tests.
/// </summary>
public static class ParityCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "Architecture name in the registry, e.g. resnet18.", Required = true };
        var weights = new Option<FileInfo>("--weights") { Description = "Weights file: .safetensors, .pth (torch.save(state_dict)) or .dat (TorchSharp).", Required = true }
            .AcceptExistingOnly();
        var io = new Option<FileInfo>("--io") { Description = "safetensors file with tensors 'input' and 'output' from the reference implementation.", Required = true }
            .AcceptExistingOnly();
        var numClasses = new Option<int?>("--num-classes") { Description = "Classifier size (default: the checkpoint's)." };
        var output = new Option<string>("--output") { Description = "Compare logits (forward) or features (ForwardFeatures).", DefaultValueFactory = _ => "logits" }
            .AcceptOnlyFromAmong("logits", "features");
        var threshold = new Option<double>("--threshold") { Description = "Largest acceptable max absolute difference.", DefaultValueFactory = _ => ParityCheck.DefaultThreshold };
        var config = new Option<FileInfo?>("--config") { Description = "config.json for config-driven architectures (BERT)." }
            .AcceptExistingOnly();

        var command = new Command("parity", "Load weights strictly, run the io file's input and compare with its output.")
        {
            arch, weights, io, numClasses, output, threshold, config,
        };
        command.SetAction(r => Run(
            new ParityRequest(
                r.GetRequiredValue(arch),
                r.GetRequiredValue(weights).FullName,
                r.GetRequiredValue(io).FullName,
                r.GetValue(numClasses),
                r.GetValue(output) == "features" ? ParityOutput.Features : ParityOutput.Logits,
                r.GetValue(threshold),
                r.GetValue(config) is { } c ? File.ReadAllText(c.FullName) : null),
            r.InvocationConfiguration.Output,
            r.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(ParityRequest request, TextWriter output, TextWriter error)
    {
        try
        {
            var result = ParityCheck.Run(request);
            output.WriteLine($"{request.Architecture} <- {Path.GetFileName(request.WeightsPath)} (sha256 {result.WeightsSha256})");
            foreach (var m in result.ImportMessages) output.WriteLine(m);
            output.WriteLine($"{request.Output.ToString().ToLowerInvariant()} [{string.Join(", ", result.Shape)}]: " +
                             $"max abs diff {result.MaxAbsDiff:G4} (threshold {result.Threshold:G4}): {(result.Passed ? "PASS" : "FAIL")}");
            return result.Passed ? ExitCodes.Ok : ExitCodes.Failed;
        }
        catch (Exception e) when (e is WeightsFormatException or WeightsImportException or FileNotFoundException or KeyNotFoundException)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
    }
}
