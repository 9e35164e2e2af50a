using System.CommandLine;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Cli.Weights;

/// <summary><c>modelzoo weights inspect &lt;file&gt;</c>: format, size, sha256, then one line per tensor (key, stored dtype, shape).</summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "Weights file: .safetensors, .pth or .dat." }.AcceptExistingOnly();
        var command = new Command("inspect", "List the keys, dtypes and shapes of a weights file, and its sha256.") { file };
        command.SetAction(r => Run(r.GetRequiredValue(file).FullName, r.InvocationConfiguration.Output, r.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(string path, TextWriter output, TextWriter error)
    {
        try
        {
            var s = WeightsFile.Inspect(path);
            output.WriteLine($"{Path.GetFileName(s.Path)}: {s.Format}, {s.Bytes:N0} bytes, {s.Tensors.Count} tensors, " +
                             $"{s.Tensors.Sum(t => t.Shape.Aggregate(1L, (a, d) => a * d)):N0} elements");
            output.WriteLine($"sha256 {s.Sha256}");
            int width = s.Tensors.Count == 0 ? 0 : s.Tensors.Max(t => t.Name.Length);
            foreach (var t in s.Tensors)
                output.WriteLine($"  {t.Name.PadRight(width)}  {t.Dtype,-8}  [{string.Join(", ", t.Shape)}]");
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is WeightsFormatException or FileNotFoundException)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
    }
}
