using System.CommandLine;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Cli.Weights;

/// <summary>
/// <c>modelzoo weights parity --arch resnet18 --weights w.safetensors --io w.io.safetensors [--num-classes N]
/// [--output logits|features] [--atol 1e-4] [--rtol 1e-5] [--config config.json]</c>: exit 0 when every output element
/// is within atol + rtol·|expected| (torch.testing.assert_close's rule), 1 when any is not, 2 on bad input. The work is <see cref="ParityCheck"/>, shared with the tests.
/// BERT: <c>--arch bert --weights model.safetensors --config config.json --io expected.json</c>, where the JSON holds
/// <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c>, <c>logits</c> and (for <c>--output features</c>)
/// <c>last_hidden_state_first_token</c>, as <see cref="TextParityIo"/> reads them.
/// <para>
/// <c>modelzoo weights parity --reference onnx model.onnx --arch X [--weights w] [--atol 1e-4] [--rtol 1e-4]</c>: the
/// reference is an ONNX file run in ONNX Runtime on seeded inputs instead of an io file (<see cref="OnnxParity"/>);
/// every output is compared as torch.testing.assert_close compares, with both tolerances and both worst errors printed.
/// </para>
/// </summary>
public static class ParityCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "Architecture name in the registry, e.g. resnet18.", Required = true };
        var weights = new Option<FileInfo>("--weights") { Description = "Weights file: .safetensors, .pth (torch.save(state_dict)) or .dat (TorchSharp). With --reference onnx, optional: without it the weights are the ONNX file's." }
            .AcceptExistingOnly();
        var io = new Option<FileInfo>("--io") { Description = "Reference inputs and outputs: safetensors with tensors 'input' and 'output', or for text models a .json with input_ids, attention_mask, token_type_ids, logits and last_hidden_state_first_token." }
            .AcceptExistingOnly();
        var numClasses = new Option<int?>("--num-classes") { Description = "Classifier size (default: the checkpoint's, or what the ONNX file records)." };
        var output = new Option<string>("--output") { Description = "Compare logits (forward) or features (ForwardFeatures).", DefaultValueFactory = _ => "logits" }
            .AcceptOnlyFromAmong("logits", "features");
        var config = new Option<FileInfo?>("--config") { Description = "config.json for config-driven architectures (BERT)." }
            .AcceptExistingOnly();
        var reference = new Option<string>("--reference") { Description = "What to compare with: an io file (--io), or 'onnx': the ONNX file given as the argument, run in ONNX Runtime.", DefaultValueFactory = _ => "io" }
            .AcceptOnlyFromAmong("io", "onnx");
        var onnxFile = new Argument<FileInfo?>("onnx-file") { Description = "With --reference onnx: the ONNX model file.", Arity = ArgumentArity.ZeroOrOne }
            .AcceptExistingOnly();
        // Judged as torch.testing.assert_close: |actual - expected| <= atol + rtol * |expected| for every element.
        var atol = new Option<double?>("--atol") { Description = $"Absolute tolerance (default {ParityCheck.DefaultAtol:G} against an io file, {OnnxParity.DefaultAtol:G} against ONNX Runtime)." };
        var rtol = new Option<double?>("--rtol") { Description = $"Relative tolerance (default {ParityCheck.DefaultRtol:G} against an io file, {OnnxParity.DefaultRtol:G} against ONNX Runtime, whose kernels round differently)." };
        var batch = new Option<int>("--batch") { Description = "With --reference onnx: batch size where the file's is symbolic.", DefaultValueFactory = _ => 2 };
        var length = new Option<int>("--length") { Description = "With --reference onnx: sequence length of a text model where the file's is symbolic.", DefaultValueFactory = _ => 16 };
        var inputScale = new Option<double>("--input-scale") { Description = "With --reference onnx: image inputs are standard normal times this (e.g. 128 for a 0-255 input).", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "With --reference onnx: seed of the random inputs.", DefaultValueFactory = _ => 0 };

        var command = new Command("parity", "Load weights strictly, run the reference's inputs and compare with its outputs (an io file, or an ONNX file in ONNX Runtime).")
        {
            arch, weights, io, numClasses, output, config, reference, onnxFile, atol, rtol, batch, length, inputScale, seed,
        };
        command.SetAction(r =>
        {
            var (o, e) = (r.InvocationConfiguration.Output, r.InvocationConfiguration.Error);
            var configJson = r.GetValue(config) is { } c ? File.ReadAllText(c.FullName) : null;
            if (r.GetValue(reference) == "onnx")
            {
                if (r.GetValue(onnxFile) is not { } file) return Usage(e, "--reference onnx needs the ONNX file: modelzoo weights parity --reference onnx model.onnx --arch X.");
                if (r.GetValue(io) is not null) return Usage(e, "--io and --reference onnx are two different references; give one.");
                return RunOnnx(new OnnxParityRequest(r.GetRequiredValue(arch), file.FullName, r.GetValue(weights)?.FullName, r.GetValue(numClasses), configJson,
                    r.GetValue(batch), r.GetValue(length), r.GetValue(inputScale), r.GetValue(seed), r.GetValue(atol) ?? OnnxParity.DefaultAtol, r.GetValue(rtol) ?? OnnxParity.DefaultRtol), o, e);
            }
            if (r.GetValue(onnxFile) is not null) return Usage(e, "an ONNX file is a reference only with --reference onnx.");
            if (r.GetValue(weights) is not { } w || r.GetValue(io) is not { } i) return Usage(e, "--weights and --io are required (or use --reference onnx model.onnx).");
            return Run(new ParityRequest(r.GetRequiredValue(arch), w.FullName, i.FullName, r.GetValue(numClasses),
                r.GetValue(output) == "features" ? ParityOutput.Features : ParityOutput.Logits,
                r.GetValue(atol) ?? ParityCheck.DefaultAtol, r.GetValue(rtol) ?? ParityCheck.DefaultRtol, configJson), o, e);
        });
        return command;
    }

    static int Usage(TextWriter error, string message)
    {
        error.WriteLine($"error: {message}");
        return ExitCodes.BadInput;
    }

    public static int RunOnnx(OnnxParityRequest request, TextWriter output, TextWriter error)
    {
        try
        {
            var result = OnnxParity.Run(request);
            output.WriteLine($"{request.Architecture} <- {result.WeightsSource}");
            foreach (var m in result.Messages) output.WriteLine(m);
            output.WriteLine($"reference: {Path.GetFileName(request.OnnxPath)} in ONNX Runtime (sha256 {Sha256.OfFile(request.OnnxPath)}), seed {request.Seed}");
            foreach (var o in result.Outputs)
                output.WriteLine($"{o.Name} [{string.Join(", ", o.Shape)}] vs {o.Compared}: max abs diff {o.Closeness.MaxAbsError:G4}, max rel diff {o.Closeness.MaxRelError:G4} " +
                                 $"(atol {o.Closeness.Atol:G4}, rtol {o.Closeness.Rtol:G4}): {(o.Closeness.Passed ? "PASS" : $"FAIL, {o.Closeness.Mismatched} of {o.Closeness.Total} elements not close")}");
            return result.Passed ? ExitCodes.Ok : ExitCodes.Failed;
        }
        catch (Exception e) when (e is WeightsFormatException or WeightsImportException or FileNotFoundException or KeyNotFoundException
                                       or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or ArgumentException or NotSupportedException or System.Text.Json.JsonException)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
    }

    public static int Run(ParityRequest request, TextWriter output, TextWriter error)
    {
        try
        {
            var result = ParityCheck.Run(request);
            output.WriteLine($"{request.Architecture} <- {Path.GetFileName(request.WeightsPath)} (sha256 {result.WeightsSha256})");
            foreach (var m in result.ImportMessages) output.WriteLine(m);
            var c = result.Closeness;
            output.WriteLine($"{request.Output.ToString().ToLowerInvariant()} [{string.Join(", ", result.Shape)}]: " +
                             $"max abs diff {c.MaxAbsError:G4}, max rel diff {c.MaxRelError:G4} (atol {c.Atol:G4}, rtol {c.Rtol:G4}): " +
                             (c.Passed ? "PASS" : $"FAIL, {c.Mismatched} of {c.Total} elements not close"));
            return result.Passed ? ExitCodes.Ok : ExitCodes.Failed;
        }
        catch (Exception e) when (e is WeightsFormatException or WeightsImportException or FileNotFoundException or KeyNotFoundException)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
    }
}
