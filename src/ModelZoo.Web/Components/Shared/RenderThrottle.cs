namespace ModelZoo.Web.Components.Shared;

/// <summary>
/// Renders a live page at most once per interval however fast events arrive (the eye gains nothing above ~4 Hz, and
/// each render is circuit traffic), and always renders the last change: a request inside the interval schedules one
/// render at its end. Call <see cref="Request"/> on the component's dispatcher.
/// </summary>
public sealed class RenderThrottle(TimeSpan interval, Func<Action, Task> invokeAsync, Action render)
{
    DateTime _last = DateTime.MinValue;
    int _pending;

    public void Request()
    {
        var now = DateTime.UtcNow;
        if (now - _last >= interval)
        {
            _last = now;
            render();
            return;
        }
        if (Interlocked.Exchange(ref _pending, 1) == 1) return;
        _ = Task.Delay(interval).ContinueWith(_ => invokeAsync(() =>
        {
            _pending = 0;
            _last = DateTime.UtcNow;
            render();
        }));
    }
}
