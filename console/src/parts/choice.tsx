/** A labelled select of a filter: "all" (the empty value) and the given options. */
export function Choice(props: {
  readonly label: string;
  readonly value: string;
  readonly options: readonly string[];
  readonly onChange: (value: string) => void;
}) {
  // A value from a link (e.g. "Similar jobs") stays selectable even when it is not listed.
  const options =
    props.value && !props.options.includes(props.value) ? [...props.options, props.value] : props.options;
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        <option value="">all</option>
        {options.map((option) => (
          <option key={option}>{option}</option>
        ))}
      </select>
    </label>
  );
}
