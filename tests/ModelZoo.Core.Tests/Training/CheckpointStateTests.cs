using ModelZoo.Core.Training;

namespace ModelZoo.Core.Tests.Training;

public sealed class CheckpointStateTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-ckpt-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void State_RoundTrips()
    {
        var s = new CheckpointState { RunId = Guid.NewGuid(), Strategy = "full-fine-tune", Epoch = 3, GlobalStep = 60, EventSeq = 71, ResumedAfterEpochs = [1] };
        File.WriteAllText(Path.Combine(_dir, CheckpointFiles.State), s.ToJson());
        var back = CheckpointState.Read(_dir);
        back.ResumedAfterEpochs.ShouldBe([1]);
        (back with { ResumedAfterEpochs = s.ResumedAfterEpochs }).ShouldBe(s);
    }

    [Theory]
    [InlineData(null, "is missing")]
    [InlineData("", "is not a checkpoint state")]
    [InlineData("{\"format\": 99}", "has format 99")]
    [InlineData("{\"epoch\": ", "is not a checkpoint state")]
    public void Read_SaysWhyAStateCannotBeUsed(string? content, string reason)
    {
        if (content is not null) File.WriteAllText(Path.Combine(_dir, CheckpointFiles.State), content);
        Should.Throw<CheckpointUnreadableException>(() => CheckpointState.Read(_dir)).Message.ShouldContain(reason);
    }

    [Fact]
    public void Find_RecoversTheOldCheckpoint_WhenASaveStoppedBetweenItsRenames()
    {
        CheckpointFiles.Find(_dir).ShouldBeNull();
        Directory.CreateDirectory(Path.Combine(_dir, "checkpoint.old"));
        CheckpointFiles.Find(_dir).ShouldBe(Path.Combine(_dir, "checkpoint"));
        Directory.Exists(Path.Combine(_dir, "checkpoint")).ShouldBeTrue();
    }
}
